namespace Qwen.Server.Tests.Hosting;

/// <summary>
/// The real server process on a broken model directory or setting: it exits non-zero with one line on stderr naming the
/// setting and the file, never a stack trace, and never gets as far as serving.
/// </summary>
public sealed class StartupFailureTests
{
    public static TheoryData<string> Cases => ["near-miss template", "no template", "no manifest", "bad manifest", "no tokenizer", "no model directory", "bad setting"];

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Server_BrokenModelOrSetting_ExitsWithOneLineAndNoStackTrace(string broken)
    {
        var (args, expected) = Arrange(broken);
        await using var server = ServerProcess.Start(["--threads", "1", .. args]);
        var exit = await server.WaitForExitAsync(TimeSpan.FromMinutes(2));

        Assert.True(exit != 0, server.AllOutput);
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

    private static (string[] Args, string[] Expected) Arrange(string broken)
    {
        switch (broken)
        {
            case "near-miss template":
                {
                    // One letter off ("# Tool" for "# Tools"): a template the server cannot reproduce exactly must be refused.
                    var config = TestModels.TokenizerConfigWithTemplate(t =>
                    {
                        Assert.Contains("# Tools", t, StringComparison.Ordinal);
                        return t.Replace("# Tools", "# Tool", StringComparison.Ordinal);
                    });
                    var dir = TestModels.Variant(new() { ["tokenizer_config.json"] = config });
                    return (["--model", dir], ["Model (--model, QWEN_MODEL)", Path.Combine(dir, "tokenizer_config.json"), "not the Qwen2.5 template"]);
                }
            case "no template":
                {
                    var dir = TestModels.Variant(new() { ["tokenizer_config.json"] = TestModels.TokenizerConfigWithTemplate(_ => null) });
                    return (["--model", dir], ["Model (--model, QWEN_MODEL)", Path.Combine(dir, "tokenizer_config.json") + " has no chat_template"]);
                }
            case "no manifest":
                {
                    var dir = TestModels.Variant(new() { ["manifest.json"] = null });
                    return (["--model", dir], ["Model (--model, QWEN_MODEL)", $"'{dir}' has no manifest.json", "onnx-export output directory"]);
                }
            case "bad manifest":
                {
                    var dir = TestModels.Variant(new() { ["manifest.json"] = File.ReadAllText(Path.Combine(TestModels.Tiny, "manifest.json")).Replace("\"format_version\": 1", "\"format_version\": 99", StringComparison.Ordinal) });
                    return (["--model", dir], ["Model (--model, QWEN_MODEL)", Path.Combine(dir, "manifest.json"), "format_version must be 1 (given 99"]);
                }
            case "no tokenizer":
                {
                    var dir = TestModels.Variant(new() { ["vocab.json"] = null, ["merges.txt"] = null });
                    return (["--model", dir], ["Model (--model, QWEN_MODEL)", "no tokenizer in " + dir]);
                }
            case "no model directory":
                {
                    var dir = Path.Combine(Path.GetTempPath(), $"qwen-missing-{Guid.NewGuid():N}");
                    return (["--model", dir], ["Model (--model, QWEN_MODEL) must be an existing directory", dir]);
                }
            default:
                return (["--max-num-seqs", "0"], ["MaxNumSeqs (--max-num-seqs, QWEN_MAX_NUM_SEQS) must be in [1, 1024] (given 0, from --max-num-seqs)"]);
        }
    }
}
