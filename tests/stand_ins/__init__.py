"""Servers that stand in for AWS and for token auth in tests.

The ECR stand-in (:mod:`stand_ins.ecr`), a Docker token-auth server
(:mod:`stand_ins.token_server`) and a moto server wrapper (:mod:`stand_ins.moto`).
They live beside the tests, not in the installed package: only tests use them.
"""
