"""docs/native.md as a user's type checker sees it: chat on a deployment, model methods."""

from __future__ import annotations

import asyncio
from typing import Any

from typing_extensions import assert_type

import aclarifai
from aclarifai import Agent, AsyncClarifai, ChatCompletion, CompletionStream
from aclarifai.native import (
    GenerateStream,
    Image,
    MethodSignature,
    ModelField,
    ModelMethods,
    NativeRetry,
    Text,
)
from aclarifai.testing import FakeClarifai

MODEL = "https://clarifai.com/acme/llms/models/my-llm"
SIGNATURES: list[dict[str, Any]] = [
    {"name": "predict", "method_type": "UNARY_UNARY",
     "input_fields": [{"name": "prompt", "type": "STR", "required": True},
                      {"name": "photo", "type": "IMAGE"}],
     "output_fields": [{"name": "return", "type": "STR"}]},
    {"name": "generate", "method_type": "UNARY_STREAMING",
     "input_fields": [{"name": "prompt", "type": "STR", "required": True}],
     "output_fields": [{"name": "return", "type": "STR", "iterator": True}]},
]


async def main() -> None:
    messages = [{"role": "user", "content": "Hello"}]
    async with FakeClarifai() as fake, AsyncClarifai(
        api_key=fake.api_key, base_url=fake.base_url
    ) as client:
        fake.native.add_model("acme/llms/models/my-llm", SIGNATURES)

        completion = await client.acompletion(MODEL, messages, deployment="my-deployment")
        assert_type(completion, ChatCompletion)
        stream = await client.acompletion(
            MODEL, messages, stream=True, nodepool=("my-cluster", "my-nodepool"),
            deployment_owner="my-org", native_retry=NativeRetry(deadline=300),
        )
        assert_type(stream, CompletionStream)
        async with stream:
            assert_type(await stream.get_final_completion(), ChatCompletion)
        created = await client.chat.completions.create(MODEL, messages, deployment="d")
        assert_type(created, ChatCompletion)
        module = await aclarifai.acompletion(MODEL, messages, client=client, deployment="d")
        assert_type(module, ChatCompletion)
        agent = Agent(MODEL, client=client, deployment="my-deployment")
        assert_type((await agent.run("Hi")).output, Any)

        methods = await client.models.get(MODEL)
        assert_type(methods, ModelMethods)
        assert_type(methods.available_methods(), list[str])
        assert_type(methods.method_signature("predict"), str)
        signature = methods["predict"]
        assert_type(signature, MethodSignature)
        assert_type(signature.inputs, tuple[ModelField, ...])
        assert_type(signature.inputs[0].is_param, bool)

        result = await client.predict(
            MODEL, prompt="Describe", photo=Image(url="https://example.com/cat.jpg"),
            deployment="my-deployment",
        )
        assert_type(result, Any)
        generated = client.generate(MODEL, prompt="Count")
        assert_type(generated, GenerateStream)
        async with generated:
            async for value in generated:
                assert_type(value, Any)
        assert_type(Text(raw="words").raw, str | None)
        assert_type(Image(bytes=b"PNG").bytes, bytes | None)
        assert_type(client.native_retry, NativeRetry)


if __name__ == "__main__":
    asyncio.run(main())
