namespace Qwen.Inference.Engine;

/// <summary>The waiting queue is full; the caller should retry later (HTTP 429/503 with Retry-After).</summary>
public sealed class EngineOverloadedException(string message) : Exception(message);
