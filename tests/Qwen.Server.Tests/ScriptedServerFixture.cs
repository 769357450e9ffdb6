namespace Qwen.Server.Tests;

/// <summary>The real server over a <see cref="ScriptedRunner"/>, with an API key, 2 slots and a waiting queue of 2.</summary>
public sealed class ScriptedServerFixture : ServerFixture
{
    public const string ApiKey = "sk-test-key";

    private readonly Holder _holder;

    public ScriptedServerFixture()
        : this(new Holder())
    {
    }

    private ScriptedServerFixture(Holder holder)
        : base(["--api-keys", $"other-key,{ApiKey}", "--max-num-seqs", "2", "--max-waiting", "2", "--max-request-body-bytes", "65536"], (_, o) => holder.Runner = new ScriptedRunner(151936, o.MaxNumSeqs, o.MaxModelLen))
        => _holder = holder;

    public ScriptedRunner Runner => _holder.Runner!;

    /// <summary>Registers the tokens the model will "write" when the prompt contains <paramref name="key"/>.</summary>
    public void Script(string key, string output)
        => Runner.AddScript(Model.Tokenizer.Encode(key), Model.Tokenizer.Encode(output));

    public HttpRequestMessage Post(string path, string json)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = new StringContent(json, System.Text.Encoding.UTF8, "application/json") };
        request.Headers.Authorization = new("Bearer", ApiKey);
        return request;
    }

    private sealed class Holder
    {
        public ScriptedRunner? Runner { get; set; }
    }
}
