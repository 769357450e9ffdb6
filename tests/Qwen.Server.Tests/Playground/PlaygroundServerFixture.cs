namespace Qwen.Server.Tests.Playground;

/// <summary>
/// The real server for the playground's browser tests: the tiny test model, whose greedy replies never end on their own
/// (so max_tokens decides every length, and a long answer is there to stop), with room for answers of thousands of tokens.
/// </summary>
public class PlaygroundServerFixture : ServerFixture
{
    public PlaygroundServerFixture()
        : this([])
    {
    }

    protected PlaygroundServerFixture(string[] extraArgs)
        : base(["--max-model-len", "4096", .. extraArgs])
    {
    }
}
