"""How the emulated CDNs serve a file whose size they do not declare."""

from __future__ import annotations

from aiohttp import web

PIECE = 16 * 1024


async def stream_chunked(request: web.Request, content: bytes, content_type: str) -> web.StreamResponse:
    """`content` in chunked transfer encoding, with no Content-Length: the size is known to the
    client only once it has read it all."""
    response = web.StreamResponse(headers={"Content-Type": content_type})
    response.enable_chunked_encoding()
    await response.prepare(request)
    try:
        for start in range(0, len(content), PIECE):
            await response.write(content[start : start + PIECE])
        await response.write_eof()
    except ConnectionError:
        pass  # the client stopped reading (a file it will not keep): nothing more to serve
    return response
