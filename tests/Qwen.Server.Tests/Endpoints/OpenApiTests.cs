using System.Net;
using System.Text;
using System.Text.Json;
using Qwen.Server.Tests.Clients;

namespace Qwen.Server.Tests.Endpoints;

/// <summary>
/// The OpenAPI document (the server has API keys here): every POST's request body (snake_case, as sent) with an example
/// that works as sent; a valid OpenAPI 3.0 document whose schemas the server's real answers satisfy; bearer security on
/// the guarded routes; typed polymorphic fields; request schemas open to unknown fields; the event streams.
/// </summary>
public sealed class OpenApiTests(BatchScriptedServerFixture server) : IClassFixture<BatchScriptedServerFixture>
{
    /// <summary>
    /// swagger-parser validates the document, then tests/clients/openapi-document.mjs sends real requests (whole, streamed,
    /// with tool calls, errors, health, tokenize) and validates each request, answer and SSE event against the schema the
    /// document gives for its route, status and content type (Ajv).
    /// </summary>
    [Fact]
    public async Task Document_IsValidOpenApi_AndTheServersRealAnswersMatchIt()
    {
        server.Script("openapi-tool-key", "<tool_call>\n{\"name\": \"get_weather\", \"arguments\": {\"city\": \"Paris\"}}\n</tool_call>");
        server.Script("openapi-text-key", "Paris is the capital of France.");
        var result = await NodeClients.RunAsync(server.BaseAddress, "openapi-document.mjs", ScriptedServerFixture.ApiKey, "openapi-tool-key", "openapi-text-key");
        Assert.True(result.GetProperty("checked").GetInt32() >= 20, result.ToString());
        var events = result.GetProperty("events").EnumerateArray().Select(e => e.GetString()).ToList();
        // Every kind of event the streams sent was validated: chunks, text completions, and each Responses event.
        foreach (var kind in new[] { "chat.completion.chunk", "text_completion", "response.created", "response.output_text.delta", "response.content_part.done", "response.function_call_arguments.delta", "response.output_item.done", "response.completed" })
        {
            Assert.Contains(kind, events);
        }
    }

    [Fact]
    public async Task SwaggerJson_WithApiKeys_DeclaresBearerScheme_RequiredOnGuardedRoutesOnly()
    {
        var doc = await Document();
        var scheme = doc.GetProperty("components").GetProperty("securitySchemes").GetProperty("bearer");
        Assert.Equal("http", scheme.GetProperty("type").GetString());
        Assert.Equal("bearer", scheme.GetProperty("scheme").GetString());
        foreach (var path in doc.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject())
            {
                var requirements = operation.Value.TryGetProperty("security", out var s) ? s.EnumerateArray().Select(r => string.Join(',', r.EnumerateObject().Select(p => p.Name))).ToList() : [];
                var where = $"{operation.Name} {path.Name}";
                if (path.Name.StartsWith("/v1/", StringComparison.Ordinal) || path.Name is "/tokenize" or "/detokenize")
                {
                    Assert.True(requirements is ["bearer"], $"{where}: {string.Join(';', requirements)}");
                    Assert.True(operation.Value.GetProperty("responses").TryGetProperty("401", out _), where);
                }
                else if (path.Name == "/health/ready")
                {
                    Assert.Equal(["", "bearer"], requirements); // optional: probes need no key, a key shows the details
                }
                else
                {
                    Assert.True(requirements.Count == 0, where);
                }
            }
        }
        // The key the document asks for is the one the server checks.
        using var open = await server.Http.GetAsync("/v1/models");
        Assert.Equal(HttpStatusCode.Unauthorized, open.StatusCode);
    }

    [Fact]
    public async Task SwaggerJson_Health_DocumentsNamedSchemas_ReadyWith200And503()
    {
        var doc = await Document();
        var health = doc.GetProperty("paths").GetProperty("/health").GetProperty("get").GetProperty("responses");
        Assert.Equal("#/components/schemas/HealthStatus", health.GetProperty("200").GetProperty("content").GetProperty("application/json").GetProperty("schema").GetProperty("$ref").GetString());
        var ready = doc.GetProperty("paths").GetProperty("/health/ready").GetProperty("get").GetProperty("responses");
        foreach (var status in new[] { "200", "503" })
        {
            var schema = Resolve(doc, ready.GetProperty(status).GetProperty("content").GetProperty("application/json").GetProperty("schema"));
            Assert.Equal(["status", "model", "running", "waiting", "kv_slots_used", "kv_slots_total"], schema.GetProperty("properties").EnumerateObject().Select(p => p.Name));
        }
    }

    [Fact]
    public async Task SwaggerJson_EverySchemaName_IsAPlainTypeName()
    {
        var doc = await Document();
        foreach (var name in doc.GetProperty("components").GetProperty("schemas").EnumerateObject().Select(p => p.Name))
        {
            Assert.Matches("^[A-Z][A-Za-z0-9]*$", name); // no generic arity, no compiler-made anonymous type names
        }
    }

    [Theory]
    [InlineData("ChatCompletionRequest", "stop", "string,array")]
    [InlineData("CompletionRequest", "stop", "string,array")]
    [InlineData("ChatCompletionRequest", "tool_choice", "string,object")]
    [InlineData("CreateResponseRequest", "tool_choice", "string,object")]
    [InlineData("ChatCompletionRequestMessage", "content", "string,array")]
    [InlineData("CompletionRequest", "prompt", "string,array,array")]
    [InlineData("CreateResponseRequest", "input", "string,array")]
    public async Task SwaggerJson_PolymorphicField_IsATypedOneOf(string schemaName, string property, string types)
    {
        var doc = await Document();
        var field = doc.GetProperty("components").GetProperty("schemas").GetProperty(schemaName).GetProperty("properties").GetProperty(property);
        Assert.Equal(types, string.Join(',', field.GetProperty("oneOf").EnumerateArray().Select(s => s.GetProperty("type").GetString())));
    }

    [Fact]
    public async Task SwaggerJson_ToolChoiceKeywords_AreTheOnesTheServerTakes()
    {
        var doc = await Document();
        var choice = doc.GetProperty("components").GetProperty("schemas").GetProperty("ChatCompletionRequest").GetProperty("properties").GetProperty("tool_choice").GetProperty("oneOf");
        var keywords = choice[0].GetProperty("enum").EnumerateArray().Select(e => e.GetString()!).ToList();
        server.Script("key-openapi-keyword", "fine");
        foreach (var keyword in keywords)
        {
            var body = """{"messages":[{"role":"user","content":"key-openapi-keyword"}],"tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object"}}}],"max_tokens":4,"tool_choice":""" + JsonSerializer.Serialize(keyword) + "}";
            using var response = await server.Http.SendAsync(server.Post("/v1/chat/completions", body));
            Assert.True(response.StatusCode == HttpStatusCode.OK, $"{keyword}: {await response.Content.ReadAsStringAsync()}");
        }
        Assert.Equal(["none", "auto", "required"], keywords);
    }

    [Fact]
    public async Task SwaggerJson_RequestSchemas_NeverForbidUnknownFields()
    {
        var doc = await Document();
        var schemas = doc.GetProperty("components").GetProperty("schemas");
        var seen = new HashSet<string>();
        var pending = new Stack<(JsonElement Schema, string Where)>();
        foreach (var path in doc.GetProperty("paths").EnumerateObject())
        {
            foreach (var operation in path.Value.EnumerateObject().Where(o => o.Value.TryGetProperty("requestBody", out _)))
            {
                pending.Push((operation.Value.GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema"), path.Name));
            }
        }
        Assert.Equal(5, pending.Count);
        while (pending.TryPop(out var item))
        {
            var (schema, where) = item;
            if (schema.ValueKind != JsonValueKind.Object)
            {
                continue;
            }
            if (schema.TryGetProperty("$ref", out var reference))
            {
                var name = reference.GetString()!.Split('/')[^1];
                if (seen.Add(name))
                {
                    pending.Push((schemas.GetProperty(name), name));
                }
                continue;
            }
            Assert.False(schema.TryGetProperty("additionalProperties", out var extra) && extra.ValueKind == JsonValueKind.False, $"{where} forbids unknown fields, which the server ignores");
            foreach (var child in schema.EnumerateObject().Where(p => p.Name is "properties"))
            {
                foreach (var p in child.Value.EnumerateObject())
                {
                    pending.Push((p.Value, $"{where}.{p.Name}"));
                }
            }
            foreach (var child in schema.EnumerateObject().Where(p => p.Name is "items" or "additionalProperties"))
            {
                pending.Push((child.Value, where));
            }
            foreach (var child in schema.EnumerateObject().Where(p => p.Name is "oneOf" or "anyOf" or "allOf"))
            {
                foreach (var s in child.Value.EnumerateArray())
                {
                    pending.Push((s, where));
                }
            }
        }
        Assert.Contains("ChatCompletionRequestMessage", seen);
        Assert.Contains("FunctionDefinition", seen);
    }

    [Fact]
    public async Task SwaggerJson_ConstantFields_AreRequiredWithTheirValue_OutputItemsHaveADiscriminator()
    {
        var doc = await Document();
        var schemas = doc.GetProperty("components").GetProperty("schemas");
        foreach (var (schema, property, value) in new[] { ("ChatCompletionChunk", "object", "chat.completion.chunk"), ("TextCompletion", "object", "text_completion"), ("ResponseOutputMessage", "type", "message"), ("ResponseFunctionToolCall", "type", "function_call") })
        {
            Assert.Equal([value], schemas.GetProperty(schema).GetProperty("properties").GetProperty(property).GetProperty("enum").EnumerateArray().Select(e => e.GetString()));
            Assert.Contains(property, schemas.GetProperty(schema).GetProperty("required").EnumerateArray().Select(e => e.GetString()));
        }
        var mapping = schemas.GetProperty("ResponseOutputItem").GetProperty("discriminator").GetProperty("mapping");
        Assert.Equal("#/components/schemas/ResponseOutputMessage", mapping.GetProperty("message").GetString());
        Assert.Equal("#/components/schemas/ResponseFunctionToolCall", mapping.GetProperty("function_call").GetString());
    }

    [Theory]
    [InlineData("/v1/chat/completions", "ChatCompletionChunk,ErrorResponse", "data: [DONE]")]
    [InlineData("/v1/completions", "TextCompletion,ErrorResponse", "data: [DONE]")]
    [InlineData("/v1/responses", "ResponseStatusEvent,ResponseOutputItemEvent,ResponseContentPartEvent,ResponseTextDeltaEvent,ResponseTextDoneEvent,ResponseFunctionCallArgumentsDeltaEvent,ResponseFunctionCallArgumentsDoneEvent", "event: <type>")]
    public async Task SwaggerJson_StreamingRoute_DocumentsItsEventStream(string path, string payloads, string framing)
    {
        var doc = await Document();
        var ok = doc.GetProperty("paths").GetProperty(path).GetProperty("post").GetProperty("responses").GetProperty("200");
        var schema = ok.GetProperty("content").GetProperty("text/event-stream").GetProperty("schema");
        Assert.Equal(payloads, string.Join(',', schema.GetProperty("oneOf").EnumerateArray().Select(s => s.GetProperty("$ref").GetString()!.Split('/')[^1])));
        Assert.Contains(framing, ok.GetProperty("description").GetString(), StringComparison.Ordinal);
        Assert.True(ok.GetProperty("content").TryGetProperty("application/json", out _));
    }

    [Theory]
    [InlineData("/v1/chat/completions", "messages,model,stream,stream_options,max_tokens,max_completion_tokens,temperature,top_p,n,stop,seed,tools,tool_choice,response_format,logprobs,top_logprobs,top_k,repetition_penalty")]
    [InlineData("/v1/completions", "prompt,model,stream,echo,logprobs,max_tokens,temperature,n")]
    [InlineData("/v1/responses", "input,model,instructions,max_output_tokens,stream,temperature,top_p,tools,tool_choice,text,parallel_tool_calls,store,metadata,user")]
    [InlineData("/tokenize", "prompt,messages,tools,add_generation_prompt")]
    [InlineData("/detokenize", "tokens")]
    public async Task SwaggerJson_EveryPost_HasRequestBodySchemaAndAWorkingExample(string path, string properties)
    {
        var doc = JsonDocument.Parse(await server.Http.GetStringAsync("/swagger/v1/swagger.json")).RootElement;
        var media = doc.GetProperty("paths").GetProperty(path).GetProperty("post").GetProperty("requestBody").GetProperty("content").GetProperty("application/json");
        var schema = Resolve(doc, media.GetProperty("schema"));
        var names = schema.GetProperty("properties").EnumerateObject().Select(p => p.Name).ToHashSet();
        foreach (var name in properties.Split(','))
        {
            Assert.Contains(name, names);
        }
        Assert.DoesNotContain(names, n => n.Any(char.IsUpper)); // the names the server reads, not camelCase

        // Swagger UI's "Try it out" sends the example: it must be a valid request for this server.
        var example = media.GetProperty("example").GetRawText();
        using var response = await server.Http.SendAsync(server.Post(path, example));
        Assert.True(response.StatusCode == HttpStatusCode.OK, $"{path} example {example}: {await response.Content.ReadAsStringAsync()}");
    }

    [Theory]
    [InlineData("text/plain")]
    [InlineData("multipart/form-data; boundary=x")]
    [InlineData(null)]
    public async Task DocumentedBody_DoesNotRestrictContentType_JsonBodyAcceptedAsBefore(string? contentType)
    {
        server.Script("key-content-type", "fine");
        using var request = server.Post("/v1/chat/completions", """{"messages":[{"role":"user","content":"key-content-type"}]}""");
        request.Content!.Headers.ContentType = contentType is null ? null : System.Net.Http.Headers.MediaTypeHeaderValue.Parse(contentType);
        using var response = await server.Http.SendAsync(request);
        Assert.True(response.StatusCode == HttpStatusCode.OK, await response.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task SwaggerJson_ChatMessageSchema_HasRoleAndContent()
    {
        var doc = JsonDocument.Parse(await server.Http.GetStringAsync("/swagger/v1/swagger.json")).RootElement;
        var chat = Resolve(doc, doc.GetProperty("paths").GetProperty("/v1/chat/completions").GetProperty("post").GetProperty("requestBody").GetProperty("content").GetProperty("application/json").GetProperty("schema"));
        var message = Resolve(doc, chat.GetProperty("properties").GetProperty("messages").GetProperty("items"));
        Assert.True(message.GetProperty("properties").TryGetProperty("role", out _));
        Assert.True(message.GetProperty("properties").TryGetProperty("content", out _));
        Assert.True(message.GetProperty("properties").TryGetProperty("tool_call_id", out _));
        var response = Resolve(doc, doc.GetProperty("paths").GetProperty("/v1/chat/completions").GetProperty("post").GetProperty("responses").GetProperty("200").GetProperty("content").GetProperty("application/json").GetProperty("schema"));
        Assert.True(response.GetProperty("properties").TryGetProperty("system_fingerprint", out _));
    }

    private async Task<JsonElement> Document() => JsonDocument.Parse(await server.Http.GetStringAsync("/swagger/v1/swagger.json")).RootElement;

    private static JsonElement Resolve(JsonElement doc, JsonElement schema)
    {
        if (!schema.TryGetProperty("$ref", out var reference))
        {
            return schema;
        }
        var name = reference.GetString()!.Split('/')[^1];
        return doc.GetProperty("components").GetProperty("schemas").GetProperty(name);
    }
}
