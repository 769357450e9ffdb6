namespace Qwen.Server.Tests;

/// <summary>The real server over a <see cref="ScriptedRunner"/>, with an API key, 2 slots (both allowed to one request: n = 2 tests) and a waiting queue of 2.</summary>
public class ScriptedServerFixture : ServerFixture
{
    public const string ApiKey = "sk-test-key";

    public ScriptedServerFixture()
        : this(["--max-num-seqs", "2", "--max-seqs-per-request", "2", "--max-waiting", "2", "--max-request-body-bytes", "65536"])
    {
    }

    protected ScriptedServerFixture(string[] args)
        : base(["--api-keys", $"other-key,{ApiKey}", .. args], (_, o) => new ScriptedRunner(151936, o.MaxNumSeqs, o.MaxModelLen))
    {
    }

    public ScriptedRunner Runner => (ScriptedRunner)CreatedRunner!;

    /// <summary>Registers the tokens the model will "write" when the prompt contains <paramref name="key"/>.</summary>
    public void Script(string key, string output)
        => Runner.AddScript(Model.Tokenizer.Encode(key), Model.Tokenizer.Encode(output));

    /// <summary>Registers exact token ids to write (for text the tokenizer would encode differently, e.g. markup spelled from sub-tokens).</summary>
    public void ScriptIds(string key, int[] output) => Runner.AddScript(Model.Tokenizer.Encode(key), output);

    /// <summary>Like <see cref="Script"/>, but the engine loop stops before output token <paramref name="pauseBefore"/> until the gate opens.</summary>
    public RunnerGate ScriptPaused(string key, string output, int pauseBefore)
        => Runner.AddPausedScript(Model.Tokenizer.Encode(key), Model.Tokenizer.Encode(output), pauseBefore);

    /// <summary>The first output token is sampled from <paramref name="row"/> (all other tokens far below); then &lt;|im_end|&gt;.</summary>
    public void ScriptLogits(string key, IReadOnlyDictionary<int, float> row) => Runner.AddLogitsScript(Model.Tokenizer.Encode(key), row);

    /// <summary>The prompt the model received for the latest request containing <paramref name="key"/>, decoded (special tokens kept).</summary>
    public string? PromptOf(string key) => Runner.PromptOf(Model.Tokenizer.Encode(key)) is { } ids ? Model.Tokenizer.Decode(ids) : null;

    public HttpRequestMessage Post(string path, string json)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new("Bearer", ApiKey);
        return request;
    }
}
