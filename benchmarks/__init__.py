"""aclarifai's benchmark suite: ``python -m benchmarks`` from the repository root.

One pre-rendering SSE server in its own process, every client in a fresh process of its own, the
same scenarios for aclarifai, the floor (raw aiohttp + orjson) and the peers that are installed.
Every answer is checked against what the server sent: a wrong answer is a FAIL, not a number.

    scenarios.py   what the server sends and what each client must assemble (pure)
    server.py      the loopback HTTP/1.1 server process (asyncio streams, pre-rendered bodies)
    client.py      the client process: warm up, measure, report JSON
    client_*.py    one module per client library (floor, aclarifai, openai, litellm) + the agent
    runner.py      starts the server, runs every client in turn, checks the answers
    report.py      the markdown tables, the machine, docs/performance.md
    importtime.py  import time of each library in fresh interpreters
    profile.py     cProfile of one client on one scenario (python -m benchmarks.profile)
    stages.py      each stage of the per-chunk path alone, no I/O (python -m benchmarks.stages)
    checks.py      is an answer right? (content, tool calls, concurrency, the agent's turn)
"""
