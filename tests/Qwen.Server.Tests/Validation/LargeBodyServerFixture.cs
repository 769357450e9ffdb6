namespace Qwen.Server.Tests.Validation;

/// <summary>The real server with the tiny test model and 64 MiB bodies, for requests with 100,000 tools, messages or keys.</summary>
public sealed class LargeBodyServerFixture : ServerFixture
{
    public const int MaxBodyBytes = 64 << 20;

    public LargeBodyServerFixture()
        : base(["--max-request-body-bytes", $"{MaxBodyBytes}"])
    {
    }
}
