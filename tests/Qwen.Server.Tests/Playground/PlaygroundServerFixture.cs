using Qwen.OnnxExport;

namespace Qwen.Server.Tests.Playground;

/// <summary>
/// The real server for the playground's browser tests, serving the demo model as `dotnet run` does: its replies are
/// visible, varied text (the tiny test model's are newlines), and its generation_config and random weights are what the
/// page shows a newcomer. Room for an answer of 30,000 tokens (half a minute here), so a long answer is there to stop.
/// </summary>
public class PlaygroundServerFixture : ServerFixture
{
    public PlaygroundServerFixture()
        : this([])
    {
    }

    protected PlaygroundServerFixture(string[] extraArgs)
        : base(["--model", "demo", "--model-cache-dir", RandomModelCache.DefaultRoot, "--max-model-len", "32768", .. extraArgs])
    {
    }
}
