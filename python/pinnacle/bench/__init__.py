"""pinnacle's benchmark suite: pinnacle beside the tools a user would use anyway (a buffered
file, a pure-Python mmap journal, sqlite3, lmdb), measured in the same run.

Run it with ``pinnacle bench [--quick|--full]`` or ``python benches/run.py`` from a checkout.
Its extra dependencies come with ``pip install 'pinnacle[bench]'``.
"""
