using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.Json.Nodes;
using Json.Schema;

namespace Qwen.Server.Tests.Validation;

/// <summary>
/// json_schema and schema-constrained tool calls through the real server and the random-weight tiny test model, whose free
/// output is noise: only the grammar can make it follow a schema. Every answer is checked with JsonSchema.Net, an
/// independent validator, never with the server's own code; streamed and whole answers with the same seed must agree.
/// </summary>
public sealed class JsonSchemaOutputTests(ServerFixture server) : IClassFixture<ServerFixture>
{
    private static readonly EvaluationOptions Strict = new() { RequireFormatValidation = true, OutputFormat = Json.Schema.OutputFormat.List };

    private static void AssertValid(string schema, string json)
    {
        var results = JsonSchema.FromText(schema).Evaluate(JsonNode.Parse(json), Strict);
        Assert.True(results.IsValid, $"'{json}' does not follow {schema}: {JsonSerializer.Serialize(results.Details.Where(d => d.HasErrors).Select(d => d.Errors))}");
    }

    private static object Messages(string text) => new[] { new { role = "user", content = text } };

    [Fact]
    public async Task GeneratedSchemas_SampledSeeds_WholeAndStreamedFollowTheSchema()
    {
        // Schemas whose every string and array is bounded, so each answer ends by the grammar (finish "stop") well within
        // max_tokens; the noise model's choices explore them.
        var random = new Random(20261204);
        for (var seed = 1; seed <= 10; seed++)
        {
            var schema = SchemaGenerator.Object(random, depth: 0).ToJsonString();
            var body = new
            {
                messages = Messages("Answer in JSON."),
                response_format = new { type = "json_schema", json_schema = new { name = "answer", schema = JsonNode.Parse(schema), strict = true } },
                max_tokens = 400,
                temperature = 1.0,
                seed,
            };
            using var whole = await server.Http.PostAsJsonAsync("/v1/chat/completions", body);
            var json = await whole.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(whole.StatusCode == HttpStatusCode.OK, $"{whole.StatusCode} {json} for {schema}");
            var choice = json.GetProperty("choices")[0];
            Assert.Equal("stop", choice.GetProperty("finish_reason").GetString());
            var content = choice.GetProperty("message").GetProperty("content").GetString()!;
            AssertValid(schema, content);

            var streamed = await StreamContentAsync(new Dictionary<string, object?>
            {
                ["messages"] = body.messages,
                ["response_format"] = body.response_format,
                ["max_tokens"] = 400,
                ["temperature"] = 1.0,
                ["seed"] = seed,
                ["stream"] = true,
            });
            Assert.Equal(content, streamed);
        }
    }

    [Fact]
    public async Task NamedAndRequiredToolChoice_ArgumentsFollowEachFunctionsSchema_StrictOrNot()
    {
        const string Add = """{"type": "object", "properties": {"a": {"type": "integer", "minimum": -50, "maximum": 50}, "b": {"type": "integer", "minimum": 0, "maximum": 9}}, "required": ["a", "b"], "additionalProperties": false}""";
        const string Unit = """{"type": "object", "properties": {"unit": {"enum": ["celsius", "fahrenheit"]}, "precise": {"type": "boolean"}}, "required": ["unit"]}""";
        var tools = new object[]
        {
            new { type = "function", function = new { name = "add", parameters = JsonNode.Parse(Add) } }, // not strict: forced calls follow it anyway
            new { type = "function", function = new { name = "unit", parameters = JsonNode.Parse(Unit), strict = true } },
        };
        var schemas = new Dictionary<string, string> { ["add"] = Add, ["unit"] = Unit };
        for (var seed = 1; seed <= 6; seed++)
        {
            foreach (object choice in new object[] { "required", new { type = "function", function = new { name = "add" } } })
            {
                using var response = await server.Http.PostAsJsonAsync("/v1/chat/completions", new { messages = Messages("Add or convert?"), tools, tool_choice = choice, max_tokens = 200, temperature = 1.0, seed });
                var json = await response.Content.ReadFromJsonAsync<JsonElement>();
                Assert.True(response.StatusCode == HttpStatusCode.OK, json.ToString());
                var message = json.GetProperty("choices")[0].GetProperty("message");
                Assert.Equal("tool_calls", json.GetProperty("choices")[0].GetProperty("finish_reason").GetString());
                foreach (var call in message.GetProperty("tool_calls").EnumerateArray())
                {
                    var function = call.GetProperty("function");
                    var name = function.GetProperty("name").GetString()!;
                    AssertValid(schemas[name], function.GetProperty("arguments").GetString()!);
                }
            }
        }
    }

    [Fact]
    public async Task AutoToolChoice_StrictTool_OpenedCallFollowsItsSchema()
    {
        // logit_bias pushes the noise model to open a call at once; from there the strict function's schema holds.
        const string Schema = """{"type": "object", "properties": {"n": {"type": "integer", "minimum": 1, "maximum": 3}, "mode": {"enum": ["fast", "slow"]}}, "required": ["n", "mode"], "additionalProperties": false}""";
        var tools = new object[] { new { type = "function", function = new { name = "run", parameters = JsonNode.Parse(Schema), strict = true } } };
        var toolCallId = server.Model.ToolCallTokenId!.Value;
        for (var seed = 1; seed <= 4; seed++)
        {
            var body = new Dictionary<string, object?>
            {
                ["messages"] = Messages("Run it."),
                ["tools"] = tools,
                ["max_tokens"] = 200,
                ["temperature"] = 1.0,
                ["seed"] = seed,
                ["parallel_tool_calls"] = false,
                ["logit_bias"] = new Dictionary<string, int> { [toolCallId.ToString(System.Globalization.CultureInfo.InvariantCulture)] = 100 },
            };
            using var response = await server.Http.PostAsJsonAsync("/v1/chat/completions", body);
            var json = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(response.StatusCode == HttpStatusCode.OK, json.ToString());
            var call = Assert.Single(json.GetProperty("choices")[0].GetProperty("message").GetProperty("tool_calls").EnumerateArray());
            Assert.Equal("run", call.GetProperty("function").GetProperty("name").GetString());
            AssertValid(Schema, call.GetProperty("function").GetProperty("arguments").GetString()!);
        }
    }

    [Fact]
    public async Task AutoToolChoiceWithJsonSchema_EachAnswerIsTheJsonOrACall()
    {
        // An agent with tools that wants a structured final answer: the noise model opens a call (logit_bias pushes
        // the tokens that begin <tool_call> up on even seeds, down on odd ones) or answers; either way the answer follows the format, or the call its (strict) function's schema.
        const string Answer = """{"type": "object", "properties": {"ok": {"type": "boolean"}, "n": {"type": "integer", "minimum": 0, "maximum": 9}}, "required": ["ok", "n"]}""";
        const string Args = """{"type": "object", "properties": {"q": {"enum": ["a", "b"]}}, "required": ["q"]}""";
        var tools = new object[] { new { type = "function", function = new { name = "look", parameters = JsonNode.Parse(Args), strict = true } } };
        // Every token that can begin "<tool_call>" (the added token, "<", "<t", …): the call is also spelled by sub-tokens.
        var opening = "<tool_call>"u8.ToArray();
        var openers = Enumerable.Range(0, server.Model.TokenBytes.Count)
            .Where(id => server.Model.TokenBytes[id] is { Length: > 0 } b && opening.AsSpan().StartsWith(b))
            .Select(id => id.ToString(System.Globalization.CultureInfo.InvariantCulture)).ToList();
        Assert.Contains(server.Model.ToolCallTokenId!.Value.ToString(System.Globalization.CultureInfo.InvariantCulture), openers);
        var (answers, calls) = (0, 0);
        for (var seed = 1; seed <= 6; seed++)
        {
            var body = new Dictionary<string, object?>
            {
                ["messages"] = Messages("Look it up, then answer."),
                ["tools"] = tools,
                ["max_tokens"] = 200,
                ["temperature"] = 1.0,
                ["seed"] = seed,
                ["response_format"] = new { type = "json_schema", json_schema = new { name = "answer", schema = JsonNode.Parse(Answer) } },
                ["logit_bias"] = openers.ToDictionary(id => id, _ => seed % 2 == 0 ? 100 : -100),
            };
            using var response = await server.Http.PostAsJsonAsync("/v1/chat/completions", body);
            var json = await response.Content.ReadFromJsonAsync<JsonElement>();
            Assert.True(response.StatusCode == HttpStatusCode.OK, json.ToString());
            var message = json.GetProperty("choices")[0].GetProperty("message");
            if (message.TryGetProperty("tool_calls", out var toolCalls) && toolCalls.ValueKind == JsonValueKind.Array)
            {
                foreach (var call in toolCalls.EnumerateArray())
                {
                    AssertValid(Args, call.GetProperty("function").GetProperty("arguments").GetString()!);
                    calls++;
                }
                continue;
            }
            Assert.True(json.GetProperty("choices")[0].GetProperty("finish_reason").GetString() == "stop", json.ToString());
            AssertValid(Answer, message.GetProperty("content").GetString()!);
            answers++;
        }
        Assert.True(answers > 0 && calls > 0, $"{answers} answers, {calls} calls");
    }

    [Theory]
    [InlineData("""{"type": "object", "properties": {"tags": {"type": "array", "uniqueItems": true}}}""", "response_format.json_schema.schema.properties.tags.uniqueItems")]
    [InlineData("""{"type": "object", "not": {"type": "null"}}""", "response_format.json_schema.schema.not")]
    [InlineData("""{"type": "object", "properties": {"a": {"$ref": "#/$defs/missing"}}}""", "response_format.json_schema.schema.properties.a.$ref")]
    public async Task UnsupportedSchema_400NamingTheKeyword(string schema, string param)
    {
        var body = new { messages = Messages("Hi"), response_format = new { type = "json_schema", json_schema = new { name = "x", schema = JsonNode.Parse(schema) } } };
        var error = await ErrorAsync(body);
        Assert.Equal(param, error.GetProperty("param").GetString());
    }

    [Fact]
    public async Task StrictToolWithUnsupportedSchema_400_NonStrictAutoIsAccepted()
    {
        var parameters = JsonNode.Parse("""{"type": "object", "properties": {"x": {"type": "string"}}, "patternProperties": {"^y": {}}}""");
        var strict = new { messages = Messages("Hi"), tools = new[] { new { type = "function", function = new { name = "f", parameters, strict = true } } }, max_tokens = 1 };
        Assert.Equal("tools[0].function.parameters.patternProperties", (await ErrorAsync(strict)).GetProperty("param").GetString());

        // Not strict and not forced: the schema is only shown to the model, so the request is served.
        var loose = new { messages = Messages("Hi"), tools = new[] { new { type = "function", function = new { name = "f", parameters } } }, max_tokens = 1 };
        using var response = await server.Http.PostAsJsonAsync("/v1/chat/completions", loose);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    [Theory]
    [InlineData("""{"type": "json_schema"}""", "response_format.json_schema")]
    [InlineData("""{"type": "json_schema", "json_schema": {"name": "x"}}""", "response_format.json_schema.schema")]
    [InlineData("""{"type": "json_schema", "json_schema": {"schema": {"type": "object"}}}""", "response_format.json_schema.name")]
    [InlineData("""{"type": "json_schema", "json_schema": {"name": "a b", "schema": {"type": "object"}}}""", "response_format.json_schema.name")]
    [InlineData("""{"type": "yaml"}""", "response_format.type")]
    [InlineData("""{}""", "response_format.type")]
    public async Task BadResponseFormat_400(string format, string param)
    {
        var body = new { messages = Messages("Hi"), response_format = JsonNode.Parse(format) };
        Assert.Equal(param, (await ErrorAsync(body)).GetProperty("param").GetString());
    }

    private async Task<JsonElement> ErrorAsync(object body)
    {
        using var response = await server.Http.PostAsJsonAsync("/v1/chat/completions", body);
        var json = await response.Content.ReadFromJsonAsync<JsonElement>();
        Assert.True(response.StatusCode == HttpStatusCode.BadRequest, json.ToString());
        var error = json.GetProperty("error");
        Assert.Equal("invalid_request_error", error.GetProperty("type").GetString());
        return error;
    }

    private async Task<string> StreamContentAsync(object body)
    {
        using var response = await server.Http.PostAsJsonAsync("/v1/chat/completions", body);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        var content = new StringBuilder();
        foreach (var line in (await response.Content.ReadAsStringAsync()).Split('\n'))
        {
            if (!line.StartsWith("data: {", StringComparison.Ordinal))
            {
                continue;
            }
            var chunk = JsonDocument.Parse(line["data: ".Length..]).RootElement;
            foreach (var choice in chunk.GetProperty("choices").EnumerateArray())
            {
                if (choice.GetProperty("delta").TryGetProperty("content", out var c) && c.ValueKind == JsonValueKind.String)
                {
                    content.Append(c.GetString());
                }
            }
        }
        return content.ToString();
    }
}
