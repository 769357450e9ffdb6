using System.Diagnostics;
using System.Text.Json.Nodes;

namespace Qwen.Bench.Llama;

/// <summary>
/// llama.cpp through node-llama-cpp in a child node process running llama-bench.mjs: one command a line on its stdin,
/// one "@@ {json}" answer a line on its stdout. Must be disposed (closes stdin, which ends the script). Not thread-safe.
/// </summary>
internal sealed class NodeLlamaCpp : IDisposable
{
    /// <summary>The pinned release (3.21.1 is known to work here with its prebuilt linux-x64 CPU binaries; newer may not).</summary>
    public const string Package = "node-llama-cpp@3.21.1";

    private const string Script = "llama-bench.mjs";

    private readonly Process _node;

    private NodeLlamaCpp(Process node) => _node = node;

    /// <summary>
    /// The folder node-llama-cpp is installed in under <paramref name="cacheRoot"/> (<c>npm i -E</c> on first use), with
    /// this build's llama-bench.mjs copied in, so that its bare import resolves there.
    /// </summary>
    public static string Install(string cacheRoot)
    {
        var dir = Path.Combine(cacheRoot, "node");
        Directory.CreateDirectory(dir);
        if (!File.Exists(Path.Combine(dir, "node_modules", "node-llama-cpp", "package.json")))
        {
            Console.WriteLine($"installing {Package} into {dir} (npm)");
            Run(dir, "npm", "i", "-E", Package, "--no-audit", "--no-fund");
        }
        File.Copy(Path.Combine(AppContext.BaseDirectory, "Llama", Script), Path.Combine(dir, Script), overwrite: true);
        return dir;
    }

    /// <summary>Starts the script on <paramref name="gguf"/> with <paramref name="threads"/> threads and waits until the model is loaded.</summary>
    public static NodeLlamaCpp Start(string nodeDir, string gguf, int threads)
    {
        var start = new ProcessStartInfo("node") { WorkingDirectory = nodeDir, RedirectStandardInput = true, RedirectStandardOutput = true, UseShellExecute = false };
        foreach (var arg in new[] { Script, gguf, threads.ToString(System.Globalization.CultureInfo.InvariantCulture) })
        {
            start.ArgumentList.Add(arg);
        }
        var node = new NodeLlamaCpp(Process.Start(start) ?? throw new InvalidOperationException("could not start node"));
        node.Read();
        return node;
    }

    /// <summary>Sends one command and returns its answer; throws when the script reports an error.</summary>
    public JsonObject Send(JsonObject command)
    {
        _node.StandardInput.WriteLine(command.ToJsonString());
        _node.StandardInput.Flush();
        var answer = Read();
        return (bool?)answer["ok"] == true ? answer : throw new InvalidOperationException($"llama-bench.mjs {command["op"]}: {answer["error"]}");
    }

    public void Dispose()
    {
        _node.StandardInput.Close();
        if (!_node.WaitForExit(30_000))
        {
            _node.Kill();
        }
        _node.Dispose();
    }

    private JsonObject Read()
    {
        while (_node.StandardOutput.ReadLine() is { } line)
        {
            if (line.StartsWith("@@ ", StringComparison.Ordinal))
            {
                return JsonNode.Parse(line[3..])!.AsObject();
            }
            Console.Error.WriteLine($"llama: {line}");
        }
        _node.WaitForExit();
        throw new InvalidOperationException($"llama-bench.mjs ended (exit code {_node.ExitCode}) before answering");
    }

    private static void Run(string dir, string file, params string[] args)
    {
        var start = new ProcessStartInfo(file) { WorkingDirectory = dir, UseShellExecute = false };
        foreach (var arg in args)
        {
            start.ArgumentList.Add(arg);
        }
        using var p = Process.Start(start) ?? throw new InvalidOperationException($"could not start {file}");
        p.WaitForExit();
        if (p.ExitCode != 0)
        {
            throw new InvalidOperationException($"{file} {string.Join(' ', args)} failed with exit code {p.ExitCode} in {dir}");
        }
    }

    /// <summary>A JSON array of token ids.</summary>
    public static JsonArray Ids(int[] ids) => new([.. ids.Select(t => (JsonNode)t)]);

    /// <summary>A JSON array of token-id arrays.</summary>
    public static JsonArray Ids(IEnumerable<int[]> prompts) => new([.. prompts.Select(p => (JsonNode)Ids(p))]);

    /// <summary>Reads a JSON array of token-id arrays.</summary>
    public static int[][] Ids(JsonNode node) => node.AsArray().Select(a => a!.AsArray().Select(t => (int)t!).ToArray()).ToArray();

}
