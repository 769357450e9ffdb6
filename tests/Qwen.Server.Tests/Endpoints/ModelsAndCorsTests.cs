using System.Net;
using System.Text.Json;

namespace Qwen.Server.Tests.Endpoints;

/// <summary>A served model id with '/' on every route that names it, and CORS for an allowed and a disallowed origin.</summary>
public sealed class ModelsAndCorsTests(BatchScriptedServerFixture server) : IClassFixture<BatchScriptedServerFixture>
{
    private const string Disallowed = "https://evil.example";

    [Theory]
    [InlineData("/v1/models/Qwen/Qwen2.5-0.5B-Instruct-scripted")]
    [InlineData("/v1/models/Qwen%2FQwen2.5-0.5B-Instruct-scripted")]
    public async Task RetrieveModel_IdWithSlash_Found(string path)
    {
        using var response = await server.Http.SendAsync(Get(path));
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.StatusCode == HttpStatusCode.OK, text);
        var card = JsonDocument.Parse(text).RootElement;
        Assert.Equal(BatchScriptedServerFixture.ModelName, card.GetProperty("id").GetString());
        Assert.Equal("model", card.GetProperty("object").GetString());
    }

    [Theory]
    [InlineData("/v1/models/Qwen")]
    [InlineData("/v1/models/Qwen/Other")]
    [InlineData("/v1/models/Qwen/Qwen2.5-0.5B-Instruct-scripted/extra")]
    public async Task RetrieveModel_OtherId_404ModelNotFound(string path)
    {
        using var response = await server.Http.SendAsync(Get(path));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Equal("model_not_found", JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("error").GetProperty("code").GetString());
    }

    [Fact]
    public async Task ChatCompletion_ModelIdWithSlash_Accepted()
    {
        server.Script("key-slash", "ok");
        using var response = await server.Http.SendAsync(server.Post("/v1/chat/completions", $$"""{"model":"{{BatchScriptedServerFixture.ModelName}}","messages":[{"role":"user","content":"key-slash"}]}"""));
        var body = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(BatchScriptedServerFixture.ModelName, body.GetProperty("model").GetString());
        Assert.Equal("ok", body.GetProperty("choices")[0].GetProperty("message").GetProperty("content").GetString());
    }

    [Theory]
    [InlineData(BatchScriptedServerFixture.AllowedOrigin, true)]
    [InlineData(Disallowed, false)]
    public async Task Cors_Preflight_AllowedOriginOnly(string origin, bool allowed)
    {
        using var preflight = new HttpRequestMessage(HttpMethod.Options, "/v1/chat/completions");
        preflight.Headers.Add("Origin", origin);
        preflight.Headers.Add("Access-Control-Request-Method", "POST");
        preflight.Headers.Add("Access-Control-Request-Headers", "authorization,content-type");
        using var response = await server.Http.SendAsync(preflight);
        Assert.True(response.IsSuccessStatusCode, $"preflight got {(int)response.StatusCode}");
        if (allowed)
        {
            Assert.Equal(origin, response.Headers.GetValues("Access-Control-Allow-Origin").Single());
            Assert.Contains("POST", string.Join(",", response.Headers.GetValues("Access-Control-Allow-Methods")), StringComparison.OrdinalIgnoreCase);
            Assert.Contains("authorization", string.Join(",", response.Headers.GetValues("Access-Control-Allow-Headers")), StringComparison.OrdinalIgnoreCase);
        }
        else
        {
            Assert.False(response.Headers.Contains("Access-Control-Allow-Origin"));
        }
    }

    [Theory]
    [InlineData(BatchScriptedServerFixture.AllowedOrigin, true)]
    [InlineData(Disallowed, false)]
    public async Task Cors_SimpleRequest_AllowOriginHeaderOnlyForAllowedOrigin(string origin, bool allowed)
    {
        using var request = Get("/v1/models");
        request.Headers.Add("Origin", origin);
        using var response = await server.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode); // CORS is the browser's check: the server still answers
        Assert.Equal(allowed, response.Headers.Contains("Access-Control-Allow-Origin"));
        if (allowed)
        {
            Assert.Equal(origin, response.Headers.GetValues("Access-Control-Allow-Origin").Single());
        }
    }

    private static HttpRequestMessage Get(string path)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new("Bearer", ScriptedServerFixture.ApiKey);
        return request;
    }
}
