using System.Text.Json.Nodes;
using Qwen.OnnxExport;

namespace Qwen.Server.Tests.Hosting;

/// <summary>Model directories for startup tests: the tiny exported model, and variants of it with chosen files replaced or removed.</summary>
internal static class TestModels
{
    /// <summary>The tiny random-weight model in the exporter's shared test cache (built once).</summary>
    public static string Tiny => RandomModelCache.GetOrCreate("tiny");

    /// <summary>
    /// A fresh directory holding the tiny model's files as symbolic links, except those in <paramref name="files"/>:
    /// a file mapped to text is written with it (a new file is written too), a file mapped to null is left out.
    /// </summary>
    public static string Variant(Dictionary<string, string?> files)
    {
        var dir = Directory.CreateTempSubdirectory("qwen-variant-").FullName;
        foreach (var source in Directory.GetFiles(Tiny))
        {
            var name = Path.GetFileName(source);
            if (!files.ContainsKey(name))
            {
                File.CreateSymbolicLink(Path.Combine(dir, name), source);
            }
        }
        foreach (var (name, text) in files)
        {
            if (text is not null)
            {
                File.WriteAllText(Path.Combine(dir, name), text);
            }
        }
        return dir;
    }

    /// <summary>The tiny model's tokenizer_config.json with its chat_template changed by <paramref name="edit"/> (null removes it).</summary>
    public static string TokenizerConfigWithTemplate(Func<string, string?> edit)
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(Tiny, "tokenizer_config.json")))!.AsObject();
        var template = edit(config["chat_template"]!.GetValue<string>());
        if (template is null)
        {
            config.Remove("chat_template");
        }
        else
        {
            config["chat_template"] = template;
        }
        return config.ToJsonString();
    }
}
