"""The Python peer of the benchmark (issue 18): what a careful Python
developer would write for the job of bench/peers/one_select.c — one
prepared SELECT of a known user, answered as JSON — with FastAPI, an
asyncpg pool, and uvicorn running uvloop and httptools (all Debian
packages: python3-fastapi python3-asyncpg python3-uvicorn python3-uvloop
python3-httptools).

    DATABASE_URL=postgresql://... /usr/bin/python3 -m uvicorn fastapi_peer:app \\
        --app-dir bench/peers --host 127.0.0.1 --port P --workers 2 \\
        --loop uvloop --http httptools --no-access-log
"""
import os

import asyncpg
from fastapi import FastAPI
from fastapi.responses import JSONResponse

SQL = "SELECT id, telegram_id, lang, first_name FROM users WHERE telegram_id = $1"
app = FastAPI()
pool = None


@app.on_event("startup")
async def startup():
    global pool
    pool = await asyncpg.create_pool(os.environ["PEER_DATABASE_URL"], min_size=8, max_size=8)


@app.get("/bench/one")
async def one(id: int = 0):
    async with pool.acquire() as c:
        r = await c.fetchrow(SQL, id)   # asyncpg prepares and caches it
    if r is None:
        return JSONResponse({"ok": False}, status_code=404)
    return {"ok": True, "id": r["id"], "telegram_id": r["telegram_id"], "lang": r["lang"],
            "first_name": r["first_name"]}
