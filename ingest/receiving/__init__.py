"""Receiving: the drop-folder watcher and the intake that claims a delivered file exactly once."""
