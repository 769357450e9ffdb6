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
            JsonElement? tools = c.GetProperty("tools").ValueKind == JsonValueKind.Null ? null : c.GetProperty("tools");
            var rendered = renderer.Render(c.GetProperty("messages"), tools, c.GetProperty("add_generation_prompt").GetBoolean());
            Assert.True(c.GetProperty("rendered").GetString() == rendered, $"case {c.GetProperty("name").GetString()}:\n{rendered}");
            count++;
        }
        Assert.Equal(13, count);
    }

    [Fact]
    public void Render_OpenAiShapes_ArgumentsStringPartsAndNullContentRenderAsTheObjectForm()
    {
        var renderer = Qwen25();
        // The same conversation as the golden 'tool_roundtrip' shape, but as an OpenAI client sends it.
        using var openAi = JsonDocument.Parse("""
            [{"role":"user","content":[{"type":"text","text":"Paris, "},{"type":"text","text":"in celsius"}]},
             {"role":"assistant","content":null,"tool_calls":[{"id":"call_1","type":"function","function":{"name":"f","arguments":"{\"b\": 1, \"a\": \"é\"}"}}]},
             {"role":"tool","tool_call_id":"call_1","content":"22"}]
            """);
        using var objectForm = JsonDocument.Parse("""
            [{"role":"user","content":"Paris, \nin celsius"},
             {"role":"assistant","content":"","tool_calls":[{"function":{"name":"f","arguments":{"b":1,"a":"é"}}}]},
             {"role":"tool","content":"22"}]
            """);
        Assert.Equal(renderer.Render(objectForm.RootElement, null, true), renderer.Render(openAi.RootElement, null, true));
        Assert.Contains("{\"name\": \"f\", \"arguments\": {\"b\": 1, \"a\": \"é\"}}", renderer.Render(openAi.RootElement, null, true), StringComparison.Ordinal);
    }

    [Fact]
    public void Render_ArgumentsNotJson_KeptAsJsonString()
    {
        using var m = JsonDocument.Parse("""[{"role":"assistant","tool_calls":[{"function":{"name":"f","arguments":"not json"}}]}]""");
        Assert.Contains("\"arguments\": \"not json\"}", Qwen25().Render(m.RootElement, null, false), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("""[{"role":"wizard","content":"x"}]""", "messages[0].role")]
    [InlineData("""[{"role":"user","content":"a"},{"content":"x"}]""", "messages[1].role")]
    [InlineData("""[{"role":"user","content":42}]""", "messages[0].content")]
    [InlineData("""[{"role":"user","content":[{"type":"image_url"}]}]""", "messages[0].content[0].type")]
    [InlineData("""[{"role":"assistant","tool_calls":[{"function":{"arguments":"{}"}}]}]""", "messages[0].tool_calls[0].function.name")]
    [InlineData("""[]""", "messages")]
    [InlineData("""["hi"]""", "messages[0]")]
    public void Render_MalformedMessage_ThrowsNamingIndexAndField(string messages, string param)
    {
        using var m = JsonDocument.Parse(messages);
        var e = Assert.Throws<ChatFormatException>(() => Qwen25().Render(m.RootElement, null, true));
        Assert.Equal(param, e.Param);
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
        var rendered = Qwen25().Render(m.RootElement, null, false);
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
    public void PythonJson_Escapes_AsJsonDumpsEnsureAsciiFalse()
    {
        using var doc = JsonDocument.Parse("{\"k\": [1.50, -2e3, true, null, \"a\\\"b\\\\c\\n\\u0001é😀\"], \"e\": {}}");
        // Expected text written by hand from Python's rules: separators ", " and ": ", numbers as given, \u0001 in lowercase hex.
        Assert.Equal("{\"k\": [1.50, -2e3, true, null, \"a\\\"b\\\\c\\n\\u0001é😀\"], \"e\": {}}", PythonJson.Dumps(doc.RootElement));
    }

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
