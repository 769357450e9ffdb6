namespace Qwen.Server.Tests.Endpoints;

/// <summary>
/// The real server (tiny test model, 512-token context) with one prompt rendered at a time and one request allowed to
/// wait for it (1 slot + 0 waiting), and 8 MiB bodies. Each test class gets its own, so its tokenizer's counters are its own.
/// </summary>
public class PromptWorkServerFixture : ServerFixture
{
    public PromptWorkServerFixture()
        : this([])
    {
    }

    protected PromptWorkServerFixture(string[] extraArgs)
        : base(["--max-concurrent-prompts", "1", "--max-num-seqs", "1", "--max-waiting", "0", "--max-request-body-bytes", $"{8 << 20}", .. extraArgs])
    {
    }
}
