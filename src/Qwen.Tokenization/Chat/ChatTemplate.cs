using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Qwen.Tokenization.Chat;

/// <summary>
/// Renders OpenAI chat messages and tools into the exact prompt text the model's own chat template produces. Thread-safe.
/// A renderer specialised for the Qwen2.5 family: it accepts a template only if it is the Qwen2.5 template with one
/// variable part, the default system prompt (which Qwen2.5-Math changes), and refuses anything else at load.
/// </summary>
public sealed partial class ChatTemplate
{
    private const string Placeholder = "{{DEFAULT_SYSTEM_PROMPT}}";
    private const string ToolsPreamble = "\n\n# Tools\n\nYou may call one or more functions to assist with the user query.\n\nYou are provided with function signatures within <tools></tools> XML tags:\n<tools>";
    private const string ToolsPostamble = "\n</tools>\n\nFor each function call, return a json object with function name and arguments within <tool_call></tool_call> XML tags:\n<tool_call>\n{\"name\": <function-name>, \"arguments\": <args-json-object>}\n</tool_call><|im_end|>\n";

    private const string Refusal = "the chat template is not the Qwen2.5 template this server reproduces exactly (only the default system prompt may differ):";
    private const string Consequence = "refusing to render prompts the model was not trained on";

    private ChatTemplate(string defaultSystemPrompt) => DefaultSystemPrompt = defaultSystemPrompt;

    /// <summary>The system prompt used when the conversation has none (from the template).</summary>
    public string DefaultSystemPrompt { get; }

    /// <summary>Reads <c>chat_template</c> from the directory's tokenizer_config.json; throws <see cref="NotSupportedException"/> for a template it cannot reproduce.</summary>
    public static ChatTemplate FromDirectory(string modelDirectory)
    {
        ArgumentNullException.ThrowIfNull(modelDirectory);
        var path = Path.Combine(modelDirectory, "tokenizer_config.json");
        using var config = JsonDocument.Parse(File.ReadAllBytes(path));
        if (!config.RootElement.TryGetProperty("chat_template", out var template))
        {
            throw new NotSupportedException($"{path} has no chat_template");
        }
        var text = template.ValueKind switch
        {
            JsonValueKind.String => template.GetString()!,
            // The list form names templates; "default" is the one used without tools, and Qwen2.5's serves both.
            JsonValueKind.Array => template.EnumerateArray()
                .Where(t => t.ValueKind == JsonValueKind.Object && t.TryGetProperty("name", out var n) && n.ValueKind == JsonValueKind.String && n.GetString() == "default"
                    && t.TryGetProperty("template", out var body) && body.ValueKind == JsonValueKind.String)
                .Select(t => t.GetProperty("template").GetString()!)
                .FirstOrDefault() ?? throw new NotSupportedException($"{path}: chat_template is a list without a \"default\" template"),
            _ => throw new NotSupportedException($"{path}: chat_template is neither a string nor a list"),
        };
        return FromTemplateText(text, path);
    }

    /// <summary>Recognises <paramref name="template"/> as the Qwen2.5 template (any default system prompt) or throws.</summary>
    public static ChatTemplate FromTemplateText(string template, string source = "chat_template")
    {
        ArgumentNullException.ThrowIfNull(template);
        var match = DefaultPromptRegex().Match(template);
        if (match.Success)
        {
            var literal = match.Groups[1].Value;
            using var stream = Assembly.GetExecutingAssembly().GetManifestResourceStream("Qwen25ChatTemplate.jinja")!;
            var expected = new StreamReader(stream).ReadToEnd().Replace(Placeholder, literal, StringComparison.Ordinal);
            if (expected.TrimEnd() == template.TrimEnd())
            {
                return new ChatTemplate(UnescapeJinja(literal));
            }
            var (line, column) = FirstDifference(expected.TrimEnd(), template.TrimEnd());
            throw new NotSupportedException($"{source}: {Refusal} it differs from that template at line {line}, column {column}; {Consequence}");
        }
        throw new NotSupportedException($"{source}: {Refusal} its system line with a default system prompt was not found; {Consequence}");
    }

    /// <summary>
    /// Renders <paramref name="messages"/> (the OpenAI <c>messages</c> array as sent) and <paramref name="tools"/> (the OpenAI
    /// <c>tools</c> array as sent, or null). Throws <see cref="ChatFormatException"/> naming the message index and field.
    /// </summary>
    public string Render(JsonElement messages, JsonElement? tools, bool addGenerationPrompt)
    {
        var list = ChatMessage.ParseAll(messages);
        var sb = new StringBuilder();
        var hasTools = tools is { ValueKind: JsonValueKind.Array } t && t.GetArrayLength() > 0;
        if (tools is { } toolsElement && toolsElement.ValueKind is not (JsonValueKind.Array or JsonValueKind.Null or JsonValueKind.Undefined))
        {
            throw new ChatFormatException("'tools' must be an array", "tools");
        }
        var firstIsSystem = list.Count > 0 && list[0].Role == "system";
        if (hasTools)
        {
            sb.Append("<|im_start|>system\n").Append(firstIsSystem ? list[0].Content : DefaultSystemPrompt).Append(ToolsPreamble);
            var i = 0;
            foreach (var tool in tools!.Value.EnumerateArray())
            {
                if (tool.ValueKind != JsonValueKind.Object)
                {
                    throw new ChatFormatException($"tools[{i}] must be an object", $"tools[{i}]");
                }
                sb.Append('\n').Append(PythonJson.Dumps(tool));
                i++;
            }
            sb.Append(ToolsPostamble);
        }
        else
        {
            sb.Append("<|im_start|>system\n").Append(firstIsSystem ? list[0].Content : DefaultSystemPrompt).Append("<|im_end|>\n");
        }

        for (var i = 0; i < list.Count; i++)
        {
            var m = list[i];
            if (m.Role == "user" || (m.Role == "system" && i > 0) || (m.Role == "assistant" && m.ToolCalls.Count == 0))
            {
                sb.Append("<|im_start|>").Append(m.Role).Append('\n').Append(m.Content).Append("<|im_end|>\n");
            }
            else if (m.Role == "assistant")
            {
                sb.Append("<|im_start|>assistant");
                if (m.Content.Length > 0)
                {
                    sb.Append('\n').Append(m.Content);
                }
                foreach (var call in m.ToolCalls)
                {
                    sb.Append("\n<tool_call>\n{\"name\": \"").Append(call.Name).Append("\", \"arguments\": ").Append(call.ArgumentsJson).Append("}\n</tool_call>");
                }
                sb.Append("<|im_end|>\n");
            }
            else if (m.Role == "tool")
            {
                if (i == 0 || list[i - 1].Role != "tool")
                {
                    sb.Append("<|im_start|>user");
                }
                sb.Append("\n<tool_response>\n").Append(m.Content).Append("\n</tool_response>");
                if (i == list.Count - 1 || list[i + 1].Role != "tool")
                {
                    sb.Append("<|im_end|>\n");
                }
            }
        }
        if (addGenerationPrompt)
        {
            sb.Append("<|im_start|>assistant\n");
        }
        return sb.ToString();
    }

    /// <summary>The 1-based line and column of the first character where <paramref name="a"/> and <paramref name="b"/> differ.</summary>
    private static (int Line, int Column) FirstDifference(string a, string b)
    {
        var at = a.AsSpan().CommonPrefixLength(b);
        var lineStart = at == 0 ? 0 : a.LastIndexOf('\n', at - 1) + 1;
        return (a.AsSpan(0, at).Count('\n') + 1, at - lineStart + 1);
    }

    /// <summary>Undoes a Jinja single-quoted string literal's escapes.</summary>
    private static string UnescapeJinja(string literal)
    {
        var sb = new StringBuilder(literal.Length);
        for (var i = 0; i < literal.Length; i++)
        {
            if (literal[i] == '\\' && i + 1 < literal.Length)
            {
                var c = literal[++i];
                sb.Append(c switch { 'n' => '\n', 't' => '\t', 'r' => '\r', _ => c });
            }
            else
            {
                sb.Append(literal[i]);
            }
        }
        return sb.ToString();
    }

    // The no-tools branch's system line carries the default system prompt as a Jinja literal.
    [GeneratedRegex(@"\{\{- '<\|im_start\|>system\\n((?:[^'\\]|\\.)*)<\|im_end\|>\\n' \}\}")]
    private static partial Regex DefaultPromptRegex();
}
