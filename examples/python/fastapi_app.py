"""A FastAPI app that serves chat through the cnai module: one endpoint,
POST /chat, streaming the answer as Server-Sent Events in the OpenAI format
(`data: {chat.completion.chunk}` ... `data: [DONE]`). One engine serves every
request; a client that disconnects cancels its generation.

    pip install . fastapi uvicorn
    CNAI_MODEL=~/.cache/cnai/models/SmolLM2-135M-Instruct.Q4_1.gguf uvicorn fastapi_app:app --port 8000
    curl -N localhost:8000/chat -H 'content-type: application/json' \\
         -d '{"messages": [{"role": "user", "content": "What is the capital of France?"}]}'
"""
import json
import os
from typing import Any, Dict, List

from fastapi import FastAPI
from fastapi.responses import StreamingResponse
from pydantic import BaseModel

import cnai

client = cnai.AsyncClient(model=os.environ.get("CNAI_MODEL") or None)
app = FastAPI(title="cnai chat")


class ChatBody(BaseModel):
    messages: List[Dict[str, Any]]
    max_tokens: int = 256
    temperature: float = 0.0


@app.post("/chat")
async def chat(body: ChatBody) -> StreamingResponse:
    try:
        stream = await client.chat.completions.create(messages=body.messages, max_tokens=body.max_tokens,
                                                      temperature=body.temperature, stream=True)
    except cnai.Error as e:  # a bad request fails before the stream starts
        return StreamingResponse(iter([json.dumps({"error": {"code": e.code, "message": e.message}})]),
                                 status_code=e.status_code, media_type="application/json")

    async def events():
        try:
            async for chunk in stream:
                yield f"data: {chunk.model_dump_json()}\n\n"
            yield "data: [DONE]\n\n"
        except cnai.Error as e:
            yield f"data: {json.dumps({'error': {'code': e.code, 'message': e.message}})}\n\n"
        finally:
            await stream.close()  # the client went away: stop generating

    return StreamingResponse(events(), media_type="text/event-stream")
