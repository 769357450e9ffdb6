#pragma warning disable OPENAI001 // Seed is marked experimental in the OpenAI client
using System.ClientModel;
using OpenAI;
using OpenAI.Chat;

namespace Qwen.Server.Tests.Clients;

/// <summary>
/// Structured output through the official OpenAI .NET client: a strict json_schema response format, every answer parsed
/// and validated by JsonSchema.Net. The random-weight model's free output is noise, so only the server's grammar can
/// make these valid; every field is bounded (enum, const, bounded integer, maxLength, maxItems) so each answer finishes.
/// </summary>
public sealed class OpenAiStructuredOutputTests(ClientServerFixture server) : IClassFixture<ClientServerFixture>
{
    /// <summary>One schema using most supported keywords: $defs/$ref, const, enum, anyOf, type arrays, bounds, pattern, format, items.</summary>
    public const string ForecastSchema = """
        {
          "type": "object",
          "properties": {
            "kind": { "const": "forecast" },
            "city": { "$ref": "#/$defs/city" },
            "code": { "type": "string", "pattern": "^[A-Z]{3}$", "minLength": 3, "maxLength": 3 },
            "days": { "type": "array", "items": { "$ref": "#/$defs/day" }, "minItems": 1, "maxItems": 2 },
            "alert": { "anyOf": [ { "type": "null" }, { "type": "string", "maxLength": 10 } ] },
            "level": { "type": ["integer", "null"], "exclusiveMinimum": 0, "exclusiveMaximum": 6 }
          },
          "required": ["kind", "city", "code", "days", "alert", "level"],
          "additionalProperties": false,
          "$defs": {
            "city": { "type": "string", "enum": ["Paris", "Tokyo", "Lima"] },
            "day": {
              "type": "object",
              "properties": {
                "date": { "type": "string", "format": "date" },
                "high": { "type": "integer", "minimum": -40, "maximum": 50 },
                "windy": { "type": "boolean" }
              },
              "required": ["date", "high", "windy"],
              "additionalProperties": false
            }
          }
        }
        """;

    private ChatClient Client() => new(server.Model.Name, new ApiKeyCredential("unused"), new OpenAIClientOptions { Endpoint = new Uri(server.BaseAddress, "/v1"), NetworkTimeout = TimeSpan.FromSeconds(60) });

    [Theory]
    [InlineData(1)]
    [InlineData(2)]
    [InlineData(3)]
    public async Task CompleteChat_StrictJsonSchema_SampledSeeds_OutputValidatesAgainstTheSchema(int seed)
    {
        var options = new ChatCompletionOptions
        {
            Temperature = 1,
            Seed = seed,
            MaxOutputTokenCount = 400,
            ResponseFormat = ChatResponseFormat.CreateJsonSchemaFormat("forecast", BinaryData.FromString(ForecastSchema), jsonSchemaIsStrict: true),
        };
        ChatCompletion completion;
        try
        {
            completion = await Client().CompleteChatAsync([new SystemChatMessage("Answer in JSON."), new UserChatMessage("Forecast for Paris?")], options);
        }
        catch (ClientResultException e)
        {
            Assert.Fail($"HTTP {e.Status}: {e.GetRawResponse()?.Content}");
            throw;
        }
        var text = completion.Content.Count == 0 ? "" : completion.Content[0].Text;
        Assert.True(completion.FinishReason == ChatFinishReason.Stop, $"finish_reason {completion.FinishReason} after {completion.Usage.OutputTokenCount} tokens: {text}");
        var forecast = JsonSchemaAssert.Valid(ForecastSchema, text);
        Assert.Equal("forecast", (string?)forecast["kind"]);
    }
}
