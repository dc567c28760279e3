"""Results tables reproduced by one command: the table as data (`table`), the runs (`runner`), the report (`report`)."""
