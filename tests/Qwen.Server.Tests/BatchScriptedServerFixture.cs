namespace Qwen.Server.Tests;

/// <summary>
/// The scripted server with room for n = 8 choices at once (8 slots, all of them allowed to one request, 32 waiting), a served model name containing '/'
/// (as Hugging Face ids do) and one allowed CORS origin.
/// </summary>
public class BatchScriptedServerFixture : ScriptedServerFixture
{
    public const string ModelName = "Qwen/Qwen2.5-0.5B-Instruct-scripted";
    public const string AllowedOrigin = "https://allowed.example";

    public BatchScriptedServerFixture()
        : this([])
    {
    }

    /// <summary>With <paramref name="extraArgs"/> after the fixed ones (xunit allows a class fixture one public constructor).</summary>
    protected BatchScriptedServerFixture(string[] extraArgs)
        : base(["--max-num-seqs", "8", "--max-seqs-per-request", "8", "--max-waiting", "32", "--served-model-name", ModelName, "--cors-origins", AllowedOrigin, .. extraArgs])
    {
    }
}
