"""Accounts of the online portal: roles, applications, passwords, sessions and the audit log."""
