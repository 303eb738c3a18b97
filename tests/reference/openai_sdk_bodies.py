"""Request bodies exactly as the official openai Python SDK sends them, for
the C++ decoder tests (tests/api/test_openai_request_decode.cpp reads the
files this writes into tests/api/openai_sdk_bodies/).

Run: python tests/reference/openai_sdk_bodies.py  (rewrites the files);
test_openai_sdk_bodies.py checks the files still match what the SDK sends."""
import json
import pathlib

OUT = pathlib.Path(__file__).resolve().parents[1] / "api" / "openai_sdk_bodies"

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": "get_weather",
        "description": "Current weather in a city",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"enum": ["c", "f"]}},
            "required": ["city"],
        },
        "strict": True,
    },
}

CHAT = {
    "chat_basic": dict(
        model="gpt-4o-mini",
        messages=[{"role": "system", "content": "You are terse."},
                  {"role": "user", "content": "What is the capital of France?"}],
        temperature=0.2, max_tokens=64),
    "chat_stream": dict(
        model="gpt-4o-mini",
        messages=[{"role": "developer", "content": "Answer in English."},
                  {"role": "user", "content": "Count to three.", "name": "ana"}],
        stream=True, stream_options={"include_usage": True}, stop=["\n\n", "END"], seed=-7, top_p=0.9,
        presence_penalty=0.5, frequency_penalty=-0.25, logit_bias={"50256": -100, "13": 5},
        max_completion_tokens=32, user="user-42", n=1, store=False, metadata={"team": "search"}),
    "chat_tools": dict(
        model="gpt-4o",
        messages=[{"role": "user", "content": "Weather in Paris?"},
                  {"role": "assistant", "content": None, "tool_calls": [
                      {"id": "call_1", "type": "function",
                       "function": {"name": "get_weather", "arguments": "{\"city\": \"Paris\"}"}}]},
                  {"role": "tool", "tool_call_id": "call_1", "content": "18 C, sunny"}],
        tools=[WEATHER_TOOL], tool_choice={"type": "function", "function": {"name": "get_weather"}},
        parallel_tool_calls=False),
    "chat_parts": dict(
        model="gpt-4o",
        messages=[{"role": "user", "content": [
            {"type": "text", "text": "What is in this picture?"},
            {"type": "image_url", "image_url": {"url": "https://example.com/cat.png", "detail": "low"}}]}]),
    "chat_json_schema": dict(
        model="gpt-4o-mini",
        messages=[{"role": "user", "content": "Give me a city."}],
        response_format={"type": "json_schema", "json_schema": {
            "name": "city", "strict": True,
            "schema": {"type": "object", "properties": {"name": {"type": "string"}},
                       "required": ["name"], "additionalProperties": False}}},
        tool_choice="none"),
    "chat_extra_body": dict(
        model="SmolLM2-135M-Instruct",
        messages=[{"role": "user", "content": "Hi"}],
        extra_body={"top_k": 20, "min_p": 0.05, "repetition_penalty": 1.1}),
    "chat_n2": dict(
        model="gpt-4o-mini", messages=[{"role": "user", "content": "Hi"}], n=2),
}

EMBEDDINGS = {
    "embeddings_default": dict(model="text-embedding-3-small", input="hello world"),
    "embeddings_list": dict(model="text-embedding-3-small", input=["a", "b c"], dimensions=256,
                            encoding_format="float", user="u1"),
}


def capture_bodies():
    """name -> the JSON body the SDK sent for that call."""
    import httpx2
    import openai

    bodies = {}
    current = {}

    def handler(request):
        bodies[current["name"]] = json.loads(request.content)
        if request.url.path.endswith("/embeddings"):
            return httpx2.Response(200, json={"object": "list", "model": "m", "usage": {"prompt_tokens": 1, "total_tokens": 1},
                                              "data": [{"object": "embedding", "index": 0, "embedding": "AACAPw=="}]})
        if json.loads(request.content).get("stream"):
            return httpx2.Response(200, headers={"content-type": "text/event-stream"}, content=b"data: [DONE]\n\n")
        return httpx2.Response(200, json={
            "id": "c", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "x"}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}})

    client = openai.OpenAI(api_key="sk-test", base_url="http://sdk.invalid/v1", max_retries=0,
                           http_client=openai.DefaultHttpx2Client(transport=httpx2.MockTransport(handler)))
    for name, kwargs in CHAT.items():
        current["name"] = name
        client.chat.completions.create(**kwargs)
    for name, kwargs in EMBEDDINGS.items():
        current["name"] = name
        client.embeddings.create(**kwargs)
    return bodies


def main():
    OUT.mkdir(parents=True, exist_ok=True)
    for name, body in capture_bodies().items():
        (OUT / f"{name}.json").write_text(json.dumps(body, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        print(f"wrote {OUT / name}.json")


if __name__ == "__main__":
    main()
