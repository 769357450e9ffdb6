namespace Qwen.Server.Tests.Playground;

/// <summary>The playground's server with an API key.</summary>
public sealed class KeyedPlaygroundServerFixture() : PlaygroundServerFixture(["--api-keys", KeyedPlaygroundServerFixture.Key])
{
    /// <summary>The one key the server takes.</summary>
    public const string Key = "sk-playground";
}
