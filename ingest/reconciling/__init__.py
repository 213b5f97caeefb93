"""Quality control of the committed data: payments, reconciliation, pension points, evaluations."""
