using System.Text.Json;
using System.Text.Json.Nodes;
using Qwen.Tokenization.Chat;

namespace Qwen.Tokenization.Tests.Chat;

/// <summary>The renderer against the official template rendered by Python's Jinja2 as transformers configures it.</summary>
public sealed class ChatTemplateTests
{
    [Theory]
    [InlineData("chat_template.jsonl", "chat_template.jinja")]
    [InlineData("chat_template.math.jsonl", "chat_template.math.jinja")]
    public void Render_GoldenCases_ByteForByte(string golden, string template)
    {
        var renderer = ChatTemplate.FromDirectory(ModelDirWithTemplate(File.ReadAllText(GoldenFiles.Path(template))));
        var count = 0;
        foreach (var line in File.ReadLines(GoldenFiles.Path(golden)))
        {
            using var doc = JsonDocument.Parse(line);
            var c = doc.RootElement;
            var rendered = renderer.Render(ChatJson.Messages(c.GetProperty("messages")), ChatJson.Tools(c.GetProperty("tools")), c.GetProperty("add_generation_prompt").GetBoolean());
            Assert.True(c.GetProperty("rendered").GetString() == rendered, $"case {c.GetProperty("name").GetString()}:\n{rendered}");
            count++;
        }
        Assert.Equal(13, count);
    }

    [Fact]
    public void Render_ArgumentsStringOrObject_RenderAlikeAsTheObject()
    {
        // OpenAI clients send arguments as a JSON string; the golden cases give an object (its raw text, as the server passes it).
        ChatMessage Call(string arguments) => new(ChatRole.Assistant, "", [new ChatToolCall("f", arguments)]);
        var renderer = Qwen25();
        var asString = renderer.Render([new(ChatRole.User, "Paris"), Call("{\"b\": 1, \"a\": \"é\"}")], [], true);
        Assert.Equal(renderer.Render([new(ChatRole.User, "Paris"), Call("""{"b":1,"a":"é"}""")], [], true), asString);
        Assert.Contains("{\"name\": \"f\", \"arguments\": {\"b\": 1, \"a\": \"é\"}}", asString, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_ArgumentsNotJson_KeptAsJsonString()
    {
        using var m = JsonDocument.Parse("""[{"role":"assistant","tool_calls":[{"function":{"name":"f","arguments":"not json"}}]}]""");
        Assert.Contains("\"arguments\": \"not json\"}", Qwen25().Render(ChatJson.Messages(m.RootElement), [], false), StringComparison.Ordinal);
    }

    [Fact]
    public void Render_UndefinedRole_ArgumentOutOfRange()
    {
        var e = Assert.Throws<ArgumentOutOfRangeException>(() => Qwen25().Render([new((ChatRole)7, "x")], [], true));
        Assert.Equal("messages", e.ParamName);
    }

    [Fact]
    public void FromDirectory_UnknownTemplate_RefusesAtLoad()
    {
        var dir = ModelDirWithTemplate("{% for m in messages %}{{ m.content }}{% endfor %}");
        var e = Assert.Throws<NotSupportedException>(() => ChatTemplate.FromDirectory(dir));
        Assert.Contains("not the Qwen2.5 template", e.Message, StringComparison.Ordinal);
        Assert.Contains("tokenizer_config.json", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    // One character changed in the official template; line and column of that character counted by hand.
    [InlineData("<tool_response>", "<tool_resp0nse>", 44, 26)]
    [InlineData("{%- if add_generation_prompt", "{%+ if add_generation_prompt", 52, 3)]
    [InlineData("message.role == \"user\"", "message.role == \"usEr\"", 22, 32)]
    [InlineData("\"arguments\": '", "\"arguments\"; '", 35, 32)]
    // The tools branch's copy of the default system prompt must agree with the no-tools branch's.
    [InlineData("{{- 'You are Qwen,", "{{- 'You are Qwan,", 6, 24)]
    public void FromDirectory_OfficialTemplateWithOneCharacterChanged_RefusedAtLoadNamingWhere(string find, string replace, int line, int column)
    {
        var official = File.ReadAllText(GoldenFiles.Path("chat_template.jinja"));
        Assert.Equal(1, official.Split(find).Length - 1); // the mutation is one place
        var dir = ModelDirWithTemplate(official.Replace(find, replace, StringComparison.Ordinal));
        var e = Assert.Throws<NotSupportedException>(() => ChatTemplate.FromDirectory(dir));
        Assert.Contains("not the Qwen2.5 template", e.Message, StringComparison.Ordinal);
        Assert.Contains($"at line {line}, column {column}", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Render_ArgumentsWithRepeatedKeys_LastValueAtFirstPositionAsPythonJsonLoads()
    {
        // Python: json.dumps(json.loads('{"a": 1, "b": {"x": 1, "x": [2]}, "a": 3}'), ensure_ascii=False) == '{"a": 3, "b": {"x": [2]}}'
        using var m = JsonDocument.Parse("""
            [{"role":"assistant","tool_calls":[
              {"function":{"name":"f","arguments":"{\"a\": 1, \"b\": {\"x\": 1, \"x\": [2]}, \"a\": 3}"}},
              {"function":{"name":"g","arguments":{"a": 1, "b": 2, "a": 3}}}]}]
            """);
        var rendered = Qwen25().Render(ChatJson.Messages(m.RootElement), [], false);
        Assert.Contains("{\"name\": \"f\", \"arguments\": {\"a\": 3, \"b\": {\"x\": [2]}}}", rendered, StringComparison.Ordinal);
        Assert.Contains("{\"name\": \"g\", \"arguments\": {\"a\": 3, \"b\": 2}}", rendered, StringComparison.Ordinal);
    }

    [Fact]
    public void FromDirectory_ListFormTemplate_UsesDefaultOrRefusesClearly()
    {
        var official = File.ReadAllText(GoldenFiles.Path("chat_template.jinja"));
        var withDefault = ModelDirWithTemplateNode(new JsonArray(
            new JsonObject { ["name"] = "tool_use", ["template"] = "{{ x }}" },
            new JsonObject { ["name"] = "default", ["template"] = official }));
        Assert.Equal("You are Qwen, created by Alibaba Cloud. You are a helpful assistant.", ChatTemplate.FromDirectory(withDefault).DefaultSystemPrompt);
        var withoutDefault = ModelDirWithTemplateNode(new JsonArray(new JsonObject { ["name"] = "tool_use", ["template"] = official }));
        Assert.Contains("default", Assert.Throws<NotSupportedException>(() => ChatTemplate.FromDirectory(withoutDefault)).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void RenderPrompt_ContentRanges_AreExactlyTheConversationsOwnText()
    {
        using var tool = JsonDocument.Parse("""{"type": "function", "function": {"name": "f", "description": "«d»"}}""");
        List<ChatMessage> messages =
        [
            new(ChatRole.System, "«s»"),
            new(ChatRole.User, "«u»"),
            new(ChatRole.Assistant, "«a»", [new ChatToolCall("«n»", "{\"x\": \"«g»\"}")]),
            new(ChatRole.Tool, "«t1»"),
            new(ChatRole.Tool, "«t2»"),
            new(ChatRole.Assistant, "«b»"),
        ];
        var renderer = Qwen25();
        var prompt = renderer.RenderPrompt(messages, [new ChatTool("f", tool.RootElement)], addGenerationPrompt: true, CancellationToken.None);

        Assert.Equal(renderer.Render(messages, [new ChatTool("f", tool.RootElement)], addGenerationPrompt: true), prompt.Text);
        var pieces = prompt.Content.Select(r => prompt.Text[r]).ToList();
        Assert.Equal(["«s»", PythonJson.Dumps(tool.RootElement), "«u»", "«a»", "«n»", "{\"x\": \"«g»\"}", "«t1»", "«t2»", "«b»"], pieces);
        var outside = string.Concat(Enumerable.Range(0, prompt.Text.Length).Where(i => !prompt.Content.Any(r => i >= r.Start.Value && i < r.End.Value)).Select(i => prompt.Text[i]));
        Assert.DoesNotContain("«", outside, StringComparison.Ordinal);
        Assert.Equal(11, CountOf(outside, "<|im_")); // the template's own: 5 turns' start and end, and the generation prompt
    }

    [Fact]
    public void RenderPrompt_CancelledToken_Throws()
    {
        using var cts = new CancellationTokenSource();
        cts.Cancel();
        Assert.Throws<OperationCanceledException>(() => Qwen25().RenderPrompt([new(ChatRole.User, "x")], [], true, cts.Token));
    }

    [Fact]
    public void PythonJson_Escapes_AsJsonDumpsEnsureAsciiFalse()
    {
        using var doc = JsonDocument.Parse("{\"k\": [1.50, -2e3, true, null, \"a\\\"b\\\\c\\n\\u0001é😀\"], \"e\": {}}");
        // Expected text written by hand from Python's rules: separators ", " and ": ", numbers as given, \u0001 in lowercase hex.
        Assert.Equal("{\"k\": [1.50, -2e3, true, null, \"a\\\"b\\\\c\\n\\u0001é😀\"], \"e\": {}}", PythonJson.Dumps(doc.RootElement));
    }

    private static int CountOf(string text, string part) => (text.Length - text.Replace(part, "", StringComparison.Ordinal).Length) / part.Length;

    internal static ChatTemplate Qwen25() => ChatTemplate.FromDirectory(ModelDirWithTemplate(File.ReadAllText(GoldenFiles.Path("chat_template.jinja"))));

    private static string ModelDirWithTemplate(string template) => ModelDirWithTemplateNode(JsonValue.Create(template));

    private static string ModelDirWithTemplateNode(JsonNode template)
    {
        var config = JsonNode.Parse(File.ReadAllText(Path.Combine(RepoPaths.QwenAssets, "tokenizer_config.json")))!;
        config["chat_template"] = template;
        var dir = Path.Combine(Path.GetTempPath(), "qwen-template-" + Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(dir);
        File.WriteAllText(Path.Combine(dir, "tokenizer_config.json"), config.ToJsonString());
        return dir;
    }
}
