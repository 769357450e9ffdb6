using System.Text.Json;

namespace Qwen.Server.Tests;

/// <summary>
/// A case of the chat template golden file (the official template rendered by Jinja2 as transformers does), read from
/// the tokenizer tests' copy of ../shared/qwen2.5/golden/chat_template.jsonl.
/// </summary>
public sealed record TemplateGolden(JsonElement Messages, JsonElement Tools, string Rendered)
{
    public static TemplateGolden Load(string name)
    {
        var path = Path.Combine(Deploy.RepoRoot.Path, "tests", "Qwen.Tokenization.Tests", "Golden", "chat_template.jsonl");
        foreach (var line in File.ReadLines(path))
        {
            var root = JsonDocument.Parse(line).RootElement;
            if (root.GetProperty("name").GetString() == name)
            {
                return new TemplateGolden(root.GetProperty("messages"), root.GetProperty("tools"), root.GetProperty("rendered").GetString()!);
            }
        }
        throw new InvalidOperationException($"no golden case '{name}' in {path}");
    }
}
