"""Test support shared by the suites (as optuna's ``testing/``).

- ``runners``: the runner contract, a behaviour suite every runner kind passes (imports pytest:
  import it from test modules only);
- ``servers``: a real ``mlflow server`` on 127.0.0.1 for tests and benchmarks (no pytest);
  ``stop_group`` also ends the server of ``domaintune ui``.
"""
