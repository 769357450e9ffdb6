using System.Net;
using System.Text;
using System.Text.Json;

namespace Qwen.Server.Tests.Endpoints;

/// <summary>The OpenAPI document describes every POST's request body (snake_case, as sent) with an example that works as sent.</summary>
public sealed class OpenApiTests(BatchScriptedServerFixture server) : IClassFixture<BatchScriptedServerFixture>
{
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
