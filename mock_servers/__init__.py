"""Local mock platforms for govlink (and any other client).

This package deliberately never imports the govlink platform clients: a mock built
from the client's own code could not catch the client's mistakes.
"""
