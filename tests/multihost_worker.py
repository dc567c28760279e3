"""One process of a multi-process test run: joins the run, trains a tiny config, dumps its parameters.

  python tests/multihost_worker.py PORT NUM_PROCESSES PROCESS_ID WORKDIR DATA_DIR OUT_DIR
"""
import os
import sys

import jax

REPO_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
sys.path.insert(0, REPO_ROOT)


def main(port, num_processes, process_id, workdir, data_dir, out_dir):
  num_processes, process_id = int(num_processes), int(process_id)
  jax.config.update("jax_num_cpu_devices", 4 // num_processes)
  if num_processes > 1:
    jax.distributed.initialize(coordinator_address=f"127.0.0.1:{port}", num_processes=num_processes,
                               process_id=process_id)
  import numpy as np  # pylint: disable=g-import-not-at-top
  from configs import mnist  # pylint: disable=g-import-not-at-top
  from ganxai_jax.run import parallel  # pylint: disable=g-import-not-at-top
  from ganxai_jax.training import trainer  # pylint: disable=g-import-not-at-top
  assert jax.device_count() == 4, jax.devices()
  config = mnist.get_config("cgan,tiny")
  config.data_dir = data_dir
  config.num_train_steps = 3
  config.classifier_steps = 2
  state = trainer.train_and_evaluate(config, workdir)
  params = parallel.fetch(state.nets)
  flat = {jax.tree_util.keystr(path): leaf for path, leaf in jax.tree_util.tree_leaves_with_path(params)}
  np.savez(os.path.join(out_dir, f"params_{num_processes}_{process_id}.npz"), **flat)


if __name__ == "__main__":
  main(*sys.argv[1:])
