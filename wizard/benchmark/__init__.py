"""Honest, repeatable figures for docs/performance.md (`manage.py benchmark [--quick]`).

Every figure stands beside a reference measured in the same run on the same machine, so
the ratios mean something even when the machine is busy or different:

1. engine: time to choose a question and memory on synthetic knowledge bases, against
   one matrix-vector product over the same likelihood array (``measure``);
2. one wizard step in-process (Django's test client, full middleware stack) against a
   reference view doing three indexed queries and rendering a 5 KB template (``urls``),
   on a throwaway database (``measure``);
3. HTTP: gunicorn with 2 workers on a throwaway PostgreSQL database and Redis, a bounded
   load generator running complete diagnoses, against the reference view loaded the
   same way (``load``, on the app servers of ``servers``);
4. diagnostic efficiency: questions asked against the entropy lower bound and a fixed
   question order, and top-1 accuracy with clean and noisy answers (``merchants``).

The knowledge bases come from ``synthetic``, ``run`` puts the parts together and
``report`` writes them out. The app-server helpers of ``servers`` (scratch databases,
gunicorn processes, a small cookie-keeping HTTP client that only talks to 127.0.0.1) are
also used by tests/test_multi_server.py.

Nothing is imported here: ``wizard.benchmark.settings`` is loaded before Django is set up.
"""
