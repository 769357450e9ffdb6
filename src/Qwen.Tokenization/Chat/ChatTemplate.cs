using System.Reflection;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Qwen.Tokenization.Chat;

/// <summary>
/// Renders typed chat messages and tools into the exact prompt text the model's own chat template produces. Thread-safe.
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
    /// Renders <paramref name="messages"/> and <paramref name="tools"/> (empty: no tools block) as the template does. The
    /// input is typed and checked by the caller (the server's validation), so rendering cannot fail on its content.
    /// </summary>
    public string Render(IReadOnlyList<ChatMessage> messages, IReadOnlyList<ChatTool> tools, bool addGenerationPrompt)
        => RenderPrompt(messages, tools, addGenerationPrompt, CancellationToken.None).Text;

    /// <summary>
    /// Renders as <see cref="Render"/> does and reports which ranges of the text came from the conversation (checks
    /// <paramref name="cancellationToken"/> between messages and tools: a long conversation is cancellable).
    /// </summary>
    public RenderedPrompt RenderPrompt(IReadOnlyList<ChatMessage> messages, IReadOnlyList<ChatTool> tools, bool addGenerationPrompt, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(messages);
        ArgumentNullException.ThrowIfNull(tools);
        var sb = new StringBuilder();
        var content = new List<Range>();
        void Content(string text)
        {
            content.Add(sb.Length..(sb.Length + text.Length));
            sb.Append(text);
        }
        var firstIsSystem = messages.Count > 0 && messages[0].Role == ChatRole.System;
        sb.Append("<|im_start|>system\n");
        if (firstIsSystem)
        {
            Content(messages[0].Content);
        }
        else
        {
            sb.Append(DefaultSystemPrompt);
        }
        if (tools.Count > 0)
        {
            sb.Append(ToolsPreamble);
            foreach (var tool in tools)
            {
                cancellationToken.ThrowIfCancellationRequested();
                sb.Append('\n');
                Content(PythonJson.Dumps(tool.Definition));
            }
            sb.Append(ToolsPostamble);
        }
        else
        {
            sb.Append("<|im_end|>\n");
        }

        for (var i = 0; i < messages.Count; i++)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var m = messages[i];
            if (m.Role == ChatRole.User || (m.Role == ChatRole.System && i > 0) || (m.Role == ChatRole.Assistant && m.ToolCalls.Count == 0))
            {
                sb.Append("<|im_start|>").Append(RoleName(m.Role)).Append('\n');
                Content(m.Content);
                sb.Append("<|im_end|>\n");
            }
            else if (m.Role == ChatRole.Assistant)
            {
                sb.Append("<|im_start|>assistant");
                if (m.Content.Length > 0)
                {
                    sb.Append('\n');
                    Content(m.Content);
                }
                foreach (var call in m.ToolCalls)
                {
                    sb.Append("\n<tool_call>\n{\"name\": \"");
                    Content(call.Name);
                    sb.Append("\", \"arguments\": ");
                    Content(ArgumentsJson(call.Arguments));
                    sb.Append("}\n</tool_call>");
                }
                sb.Append("<|im_end|>\n");
            }
            else if (m.Role == ChatRole.Tool)
            {
                if (i == 0 || messages[i - 1].Role != ChatRole.Tool)
                {
                    sb.Append("<|im_start|>user");
                }
                sb.Append("\n<tool_response>\n");
                Content(m.Content);
                sb.Append("\n</tool_response>");
                if (i == messages.Count - 1 || messages[i + 1].Role != ChatRole.Tool)
                {
                    sb.Append("<|im_end|>\n");
                }
            }
            else if (m.Role != ChatRole.System)
            {
                throw new ArgumentOutOfRangeException(nameof(messages), m.Role, $"messages[{i}] has a role that is not a {nameof(ChatRole)}");
            }
        }
        if (addGenerationPrompt)
        {
            sb.Append("<|im_start|>assistant\n");
        }
        return new RenderedPrompt(sb.ToString(), content);
    }

    private static string RoleName(ChatRole role) => role switch
    {
        ChatRole.System => "system",
        ChatRole.User => "user",
        _ => "assistant",
    };

    /// <summary>
    /// The template's <c>tojson</c> of a call's arguments. OpenAI sends them as a JSON string: the value it holds is written
    /// (key order kept, a repeated key as json.loads leaves it), or the string itself when it is not JSON.
    /// </summary>
    private static string ArgumentsJson(string arguments)
    {
        try
        {
            using var parsed = JsonDocument.Parse(arguments);
            return PythonJson.Dumps(parsed.RootElement);
        }
        catch (JsonException)
        {
            var sb = new StringBuilder();
            PythonJson.WriteString(sb, arguments);
            return sb.ToString();
        }
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
