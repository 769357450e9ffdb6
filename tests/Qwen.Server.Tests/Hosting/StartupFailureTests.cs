using System.Globalization;
using System.Net;
using System.Net.Sockets;
using System.Text.Json;

namespace Qwen.Server.Tests.Hosting;

/// <summary>
/// The real server process on a broken model directory or setting: it exits with code 1 and one line on stderr naming the
/// setting (or the nearest one to a mistyped name) and the file, never a stack trace, and never gets as far as serving.
/// </summary>
public sealed class StartupFailureTests
{
    public static TheoryData<string> Cases =>
    [
        "near-miss template", "no template", "no manifest", "bad manifest", "no tokenizer", "no model directory", "bad setting",
        "mistyped flag", "mistyped flag with =", "misspelled flag", "mistyped variable", "blank api keys variable", "blank api keys flag",
        "max-model-len beyond the model", "urls without a scheme", "urls with a path",
    ];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Server_BrokenModelOrSetting_ExitsWithOneLineAndNoStackTrace(string broken)
    {
        var (args, env, expected) = Arrange(broken);
        await using var server = ServerProcess.Start(["--threads", "1", .. args], env);
        var exit = await server.WaitForExitAsync(TimeSpan.FromMinutes(2));

        Assert.True(exit == 1, $"exit {exit}:\n{server.AllOutput}");
        var errorLines = server.Stderr.Where(l => l.Trim().Length > 0).ToList();
        Assert.True(errorLines.Count == 1, "expected one line on stderr:\n" + server.AllOutput);
        Assert.StartsWith("qwen-server: ", errorLines[0], StringComparison.Ordinal);
        foreach (var part in expected)
        {
            Assert.Contains(part, errorLines[0], StringComparison.Ordinal);
        }
        var all = server.Stdout.Concat(server.Stderr).ToList();
        Assert.DoesNotContain(all, l => l.TrimStart().StartsWith("at ", StringComparison.Ordinal) || l.Contains("Unhandled exception", StringComparison.Ordinal));
        Assert.DoesNotContain(all, l => l.Contains("Serving", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Server_PortInUse_IsReportedBeforeTheModelLoads()
    {
        // The model directory would fail to load (bad manifest): the port's error coming instead proves it was checked first.
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        var model = TestModels.Variant(new() { ["manifest.json"] = "{" });
        await using var server = ServerProcess.Start(["--threads", "1", "--urls", $"http://127.0.0.1:{port}", "--model", model]);
        var exit = await server.WaitForExitAsync(TimeSpan.FromMinutes(2));

        Assert.True(exit == 1, $"exit {exit}:\n{server.AllOutput}");
        var line = Assert.Single(server.Stderr, l => l.Trim().Length > 0);
        Assert.StartsWith($"qwen-server: cannot listen on http://127.0.0.1:{port} (127.0.0.1:{port}, from --urls): ", line, StringComparison.Ordinal);
        Assert.Contains("in use", line, StringComparison.Ordinal);
        Assert.DoesNotContain("manifest", line, StringComparison.Ordinal);
        Assert.DoesNotContain(server.Stdout, l => l.Contains("Serving", StringComparison.Ordinal) || l.Contains("Building the demo model", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Server_AspNetCoreUrlsInUse_NamesTheVariable()
    {
        using var taken = new TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        var port = ((IPEndPoint)taken.LocalEndpoint).Port;
        await using var server = ServerProcess.Start(["--threads", "1"], new Dictionary<string, string> { ["ASPNETCORE_URLS"] = $"http://localhost:{port}" });
        Assert.Equal(1, await server.WaitForExitAsync(TimeSpan.FromMinutes(2)));
        var line = Assert.Single(server.Stderr, l => l.Trim().Length > 0);
        Assert.StartsWith($"qwen-server: cannot listen on http://localhost:{port} (127.0.0.1:{port}, from ASPNETCORE_URLS): ", line, StringComparison.Ordinal);
    }

    private static (string[] Args, Dictionary<string, string>? Env, string[] Expected) Arrange(string broken)
    {
        switch (broken)
        {
            case "mistyped flag":
                // The case: the model flag mistyped used to serve the demo model in silence.
                return (["--modle", TestModels.Tiny], null, ["invalid settings: unknown flag --modle; did you mean --model?"]);
            case "mistyped flag with =":
                return (["--modle=" + TestModels.Tiny], null, ["invalid settings: unknown flag --modle; did you mean --model?"]);
            case "misspelled flag":
                return (["--max-num-seq", "4"], null, ["invalid settings: unknown flag --max-num-seq; did you mean --max-num-seqs?"]);
            case "mistyped variable":
                return ([], new() { ["QWEN_MAX_NUM_SEQ"] = "4" }, ["invalid settings: unknown environment variable QWEN_MAX_NUM_SEQ; did you mean QWEN_MAX_NUM_SEQS?"]);
            case "blank api keys variable":
                return ([], new() { ["QWEN_API_KEYS"] = "" }, ["invalid settings: ApiKeys (--api-keys, QWEN_API_KEYS) is set but blank (from QWEN_API_KEYS)"]);
            case "blank api keys flag":
                return (["--api-keys", " , "], null, ["invalid settings: ApiKeys (--api-keys, QWEN_API_KEYS) must be comma-separated keys, none of them blank"]);
            case "max-model-len beyond the model":
                {
                    // The tiny model's graph takes 32768 tokens (its manifest's max_seq_len); 40000 used to be capped in silence.
                    var limit = JsonDocument.Parse(File.ReadAllText(Path.Combine(TestModels.Tiny, "manifest.json"))).RootElement.GetProperty("max_seq_len").GetInt32();
                    return (["--model", TestModels.Tiny, "--max-model-len", (limit + 1).ToString(CultureInfo.InvariantCulture)], null,
                        [$"MaxModelLen (--max-model-len, QWEN_MAX_MODEL_LEN) must be at most the model's max_seq_len, {limit} (given {limit + 1}, from --max-model-len;",
                         "; Qwen2.5 reaches 131072 with YaRN: export the checkpoint with onnx-export --yarn 4"]);
                }
            case "urls without a scheme":
                return (["--urls", "18103"], null, ["cannot listen on '18103' (from --urls): not an address; expected scheme://host:port"]);
            case "urls with a path":
                return (["--urls", "http://127.0.0.1:0/api"], null, ["cannot listen on 'http://127.0.0.1:0/api' (from --urls): an address has no path"]);
            case "near-miss template":
                {
                    // One letter off ("# Tool" for "# Tools"): a template the server cannot reproduce exactly must be refused.
                    var config = TestModels.TokenizerConfigWithTemplate(t =>
                    {
                        Assert.Contains("# Tools", t, StringComparison.Ordinal);
                        return t.Replace("# Tools", "# Tool", StringComparison.Ordinal);
                    });
                    var dir = TestModels.Variant(new() { ["tokenizer_config.json"] = config });
                    return (["--model", dir], null, ["Model (--model, QWEN_MODEL)", Path.Combine(dir, "tokenizer_config.json"), "not the Qwen2.5 template"]);
                }
            case "no template":
                {
                    var dir = TestModels.Variant(new() { ["tokenizer_config.json"] = TestModels.TokenizerConfigWithTemplate(_ => null) });
                    return (["--model", dir], null, ["Model (--model, QWEN_MODEL)", Path.Combine(dir, "tokenizer_config.json") + " has no chat_template"]);
                }
            case "no manifest":
                {
                    var dir = TestModels.Variant(new() { ["manifest.json"] = null });
                    return (["--model", dir], null, ["Model (--model, QWEN_MODEL)", $"'{dir}' has no manifest.json", "onnx-export output directory"]);
                }
            case "bad manifest":
                {
                    var dir = TestModels.Variant(new() { ["manifest.json"] = File.ReadAllText(Path.Combine(TestModels.Tiny, "manifest.json")).Replace("\"format_version\": 1", "\"format_version\": 99", StringComparison.Ordinal) });
                    return (["--model", dir], null, ["Model (--model, QWEN_MODEL)", Path.Combine(dir, "manifest.json"), "format_version must be 1 (given 99"]);
                }
            case "no tokenizer":
                {
                    var dir = TestModels.Variant(new() { ["vocab.json"] = null, ["merges.txt"] = null });
                    return (["--model", dir], null, ["Model (--model, QWEN_MODEL)", "no tokenizer in " + dir]);
                }
            case "no model directory":
                {
                    var dir = Path.Combine(Path.GetTempPath(), $"qwen-missing-{Guid.NewGuid():N}");
                    return (["--model", dir], null, ["Model (--model, QWEN_MODEL) must be an existing directory", dir]);
                }
            default:
                return (["--max-num-seqs", "0"], null, ["MaxNumSeqs (--max-num-seqs, QWEN_MAX_NUM_SEQS) must be in [1, 1024] (given 0, from --max-num-seqs)"]);
        }
    }
}
