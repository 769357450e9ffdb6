using System.Net;
using System.Net.Http.Json;
using System.Text.Json;

namespace Qwen.Server.Tests.Errors;

/// <summary>
/// Auth over a real socket: a 401 names the Bearer scheme; with keys, the model id is never shown to a caller without one
/// (not by /health/ready, not in the Swagger examples), while /health and /health/ready still answer probes.
/// </summary>
public sealed class ApiKeyTests(ScriptedServerFixture server) : IClassFixture<ScriptedServerFixture>
{
    [Theory]
    [InlineData(null)]
    [InlineData("sk-wrong")]
    public async Task ApiKey_MissingOrWrong_401CarriesWwwAuthenticateBearer(string? key)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "/v1/models");
        if (key is not null)
        {
            request.Headers.Authorization = new("Bearer", key);
        }
        using var response = await server.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
        Assert.Equal("Bearer", Assert.Single(response.Headers.WwwAuthenticate).Scheme);
    }

    [Fact]
    public async Task HealthReady_WithoutKey_ReadyWithCountsButNoModelId_WithKey_NamesTheModel()
    {
        var name = server.Model.Name;
        using var anonymous = await server.Http.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, anonymous.StatusCode);
        var text = await anonymous.Content.ReadAsStringAsync();
        Assert.DoesNotContain(name, text, StringComparison.Ordinal);
        var body = JsonDocument.Parse(text).RootElement;
        Assert.Equal("ready", body.GetProperty("status").GetString());
        Assert.True(body.TryGetProperty("kv_slots_total", out _), text); // counts are /metrics' anyway, which is open here

        using var keyed = new HttpRequestMessage(HttpMethod.Get, "/health/ready");
        keyed.Headers.Authorization = new("Bearer", ScriptedServerFixture.ApiKey);
        var full = await (await server.Http.SendAsync(keyed)).Content.ReadFromJsonAsync<JsonElement>();
        Assert.Equal(name, full.GetProperty("model").GetString());
    }

    [Fact]
    public async Task SwaggerDocument_WithoutKey_IsOpenButDoesNotNameTheModel()
    {
        using var response = await server.Http.GetAsync("/swagger/v1/swagger.json");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(server.Model.Name, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task Metrics_WithoutProtectOperations_IsOpenAndDoesNotNameTheModel()
    {
        using var response = await server.Http.GetAsync("/metrics");
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.DoesNotContain(server.Model.Name, await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
