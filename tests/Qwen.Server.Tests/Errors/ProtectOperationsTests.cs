using System.Net;
using System.Text.Json;

namespace Qwen.Server.Tests.Errors;

/// <summary>With --protect-operations, /metrics and /swagger need the key and a keyless /health/ready gives its status alone; /health stays open.</summary>
public sealed class ProtectOperationsTests(ProtectOperationsTests.ProtectedServerFixture server) : IClassFixture<ProtectOperationsTests.ProtectedServerFixture>
{
    private const string Key = "sk-ops-key";

    [Theory]
    [InlineData("/metrics")]
    [InlineData("/swagger/v1/swagger.json")]
    [InlineData("/swagger/index.html")]
    public async Task OperationsRoute_WithoutKey_401Bearer_WithKey_200(string path)
    {
        using var anonymous = await server.Http.GetAsync(path);
        Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
        Assert.Equal("Bearer", Assert.Single(anonymous.Headers.WwwAuthenticate).Scheme);

        using var request = new HttpRequestMessage(HttpMethod.Get, path);
        request.Headers.Authorization = new("Bearer", Key);
        using var keyed = await server.Http.SendAsync(request);
        Assert.Equal(HttpStatusCode.OK, keyed.StatusCode);
    }

    [Fact]
    public async Task Health_WithoutKey_IsOpen_ReadyGivesItsStatusAlone()
    {
        Assert.Equal(HttpStatusCode.OK, (await server.Http.GetAsync("/health")).StatusCode);
        using var ready = await server.Http.GetAsync("/health/ready");
        Assert.Equal(HttpStatusCode.OK, ready.StatusCode);
        var body = JsonDocument.Parse(await ready.Content.ReadAsStringAsync()).RootElement;
        Assert.Equal("""{"status":"ready"}""", body.GetRawText());

        using var request = new HttpRequestMessage(HttpMethod.Get, "/health/ready");
        request.Headers.Authorization = new("Bearer", Key);
        var full = JsonDocument.Parse(await (await server.Http.SendAsync(request)).Content.ReadAsStringAsync()).RootElement;
        Assert.Equal(server.Model.Name, full.GetProperty("model").GetString());
        Assert.Equal(4, full.GetProperty("kv_slots_total").GetInt32());
    }

    /// <summary>The tiny test model with one key and --protect-operations.</summary>
    public sealed class ProtectedServerFixture() : ServerFixture(["--api-keys", Key, "--protect-operations"]);
}
