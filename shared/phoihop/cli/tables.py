"""Helpers for the command's tables."""


def keep_whole(table, *indexes):
    """Keep the identifiers of these columns whole, however narrow the
    terminal (or the 80 columns of a pipe): a cut id cannot be pasted into
    the next command. The other columns wrap instead."""
    for index in indexes:
        column = table.columns[index]
        column.no_wrap = True
        column.min_width = max((len(str(cell)) for cell in column.cells), default=0)
    return table
