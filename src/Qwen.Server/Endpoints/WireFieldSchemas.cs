using System.Reflection;
using System.Runtime.CompilerServices;
using System.Text.Json.Nodes;
using Microsoft.OpenApi;
using Qwen.Server.Protocol;
using Swashbuckle.AspNetCore.SwaggerGen;

namespace Qwen.Server.Endpoints;

/// <summary>
/// Types the wire fields that the records hold as raw JSON (<c>JsonElement</c>: the validators read them, so the schema
/// generator sees no type): each gets the <c>oneOf</c> of the shapes its validator in Validation/ accepts. A field that
/// may be null is marked nullable, since the validators read null as absent. Unknown fields inside them are allowed, as
/// the server ignores them. Also marks the items of a list nullable where the element type is (the generator reads only
/// the list's own nullability), and gives each constant a record writes (<c>object</c>, an item's <c>type</c>) its value.
/// </summary>
internal sealed class WireFieldSchemas : ISchemaFilter
{
    private static readonly Dictionary<(Type, string), Func<OpenApiSchema>> Fields = new()
    {
        [(typeof(ChatCompletionRequest), nameof(ChatCompletionRequest.Stop))] = Stop,
        [(typeof(CompletionRequest), nameof(CompletionRequest.Stop))] = Stop,
        [(typeof(ChatCompletionRequest), nameof(ChatCompletionRequest.ToolChoice))] = () => OneOf(
            Enum("none", "auto", "required"),
            Object(["function"], ("type", Enum("function")), ("function", Object(["name"], ("name", String()))))),
        [(typeof(CreateResponseRequest), nameof(CreateResponseRequest.ToolChoice))] = ResponsesToolChoice,
        [(typeof(Response), nameof(Response.ToolChoice))] = ResponsesToolChoice,
        [(typeof(ChatCompletionRequestMessage), nameof(ChatCompletionRequestMessage.Content))] = () => TextOrParts("text"),
        [(typeof(CompletionRequest), nameof(CompletionRequest.Prompt))] = () => OneOf(
            String(),
            new OpenApiSchema { Type = JsonSchemaType.Array, Items = String(), MinItems = 1, MaxItems = 1 },
            new OpenApiSchema { Type = JsonSchemaType.Array, Items = new OpenApiSchema { Type = JsonSchemaType.Integer, Minimum = "0" }, MinItems = 1 }),
        [(typeof(CreateResponseRequest), nameof(CreateResponseRequest.Input))] = () => OneOf(String(), Array(InputItem())),
        [(typeof(CreateResponseRequest), nameof(CreateResponseRequest.Text))] = () => Object([], ("format", Format())),
        [(typeof(ResponseTextConfig), nameof(ResponseTextConfig.Format))] = Format,
        [(typeof(CreateResponseRequest), nameof(CreateResponseRequest.Tools))] = () => Array(ResponsesTool()),
        [(typeof(Response), nameof(Response.Tools))] = () => Array(ResponsesTool()),
        [(typeof(Response), nameof(Response.Metadata))] = () => new OpenApiSchema { Type = JsonSchemaType.Object, AdditionalProperties = String() },
        [(typeof(FunctionDefinition), nameof(FunctionDefinition.Parameters))] = JsonSchemaObject,
    };

    /// <summary>Replaces the untyped schema of a raw-JSON field with its shapes; adds json_schema to response_format.</summary>
    public void Apply(IOpenApiSchema schema, SchemaFilterContext context)
    {
        if (schema is not OpenApiSchema target)
        {
            return;
        }
        if (context.MemberInfo is PropertyInfo property && Fields.TryGetValue((property.DeclaringType!, property.Name), out var make))
        {
            var typed = make();
            target.Type = typed.Type;
            target.OneOf = typed.OneOf;
            target.Items = typed.Items;
            target.Properties = typed.Properties;
            target.Required = typed.Required;
            target.AdditionalProperties = typed.AdditionalProperties;
            if (Nullable.GetUnderlyingType(property.PropertyType) is not null || new NullabilityInfoContext().Create(property).ReadState == NullabilityState.Nullable)
            {
                target.Type = (target.Type ?? JsonSchemaType.Null) | JsonSchemaType.Null; // OpenAPI 3.0: "nullable": true
            }
        }
        else if (context.MemberInfo is PropertyInfo list && target.Items is OpenApiSchema { Type: { } itemType } items
            && new NullabilityInfoContext().Create(list).GenericTypeArguments is [{ ReadState: NullabilityState.Nullable }])
        {
            items.Type = itemType | JsonSchemaType.Null; // e.g. legacy top_logprobs: null for each echoed prompt token
        }
        else if (context.Type == typeof(ResponseOutputItem) && context.MemberInfo is null)
        {
            // Serialized as its runtime type: the schema is the one of the kinds, each whole (base properties included).
            target.Type = null;
            target.Properties = null;
            target.Required = null;
            target.AdditionalPropertiesAllowed = true;
            var kinds = new Dictionary<string, Type> { ["message"] = typeof(ResponseOutputMessage), ["function_call"] = typeof(ResponseFunctionToolCall) };
            var references = kinds.ToDictionary(k => k.Key, k => (OpenApiSchemaReference)context.SchemaGenerator.GenerateSchema(k.Value, context.SchemaRepository));
            target.OneOf = [.. references.Values];
            target.Discriminator = new OpenApiDiscriminator { PropertyName = "type", Mapping = references };
        }
        else if (context.MemberInfo is null && context.Type.Namespace == typeof(WireJson).Namespace && !context.Type.IsAbstract && target.Properties is { } properties)
        {
            // A constant the record always writes (object: "chat.completion", type: "message") is required, with its one value.
            foreach (var constant in context.Type.GetProperties().Where(p => p.PropertyType == typeof(string) && p.SetMethod is null))
            {
                var name = WireJson.Options.PropertyNamingPolicy!.ConvertName(constant.Name);
                if (properties.TryGetValue(name, out var found) && found is OpenApiSchema field
                    && constant.GetValue(RuntimeHelpers.GetUninitializedObject(context.Type)) is string value)
                {
                    field.Enum = [JsonValue.Create(value)];
                    target.Required ??= new HashSet<string>();
                    target.Required.Add(name);
                }
            }
        }
        else if (context.Type == typeof(ResponseFormat) && context.MemberInfo is null)
        {
            target.Properties ??= new Dictionary<string, IOpenApiSchema>();
            target.Properties["type"] = Enum("text", "json_object", "json_schema");
            target.Properties["json_schema"] = Object(["name"], ("name", String()), ("description", String()), ("schema", JsonSchemaObject()), ("strict", Boolean()));
        }
    }

    /// <summary>A string, or up to 16 non-empty strings of at most 256 characters (RequestValidator.Stops).</summary>
    private static OpenApiSchema Stop()
    {
        var one = new OpenApiSchema { Type = JsonSchemaType.String, MinLength = 1, MaxLength = 256 };
        return OneOf(one, new OpenApiSchema { Type = JsonSchemaType.Array, Items = one, MaxItems = 16 });
    }

    /// <summary>/v1/responses' tool_choice (ResponsesTools.ToolChoice): a keyword or a named function, flat.</summary>
    private static OpenApiSchema ResponsesToolChoice()
        => OneOf(Enum("none", "auto", "required"), Object(["type", "name"], ("type", Enum("function")), ("name", String())));

    /// <summary>A string, or an array of text parts of <paramref name="partTypes"/> (TextContent.Read).</summary>
    private static OpenApiSchema TextOrParts(params string[] partTypes)
        => OneOf(String(), Array(Object(["type", "text"], ("type", Enum(partTypes)), ("text", String()))));

    /// <summary>One input item of /v1/responses (ResponsesInput): a message (type optional), a function call, its output, or a skipped reasoning item.</summary>
    private static OpenApiSchema InputItem() => OneOf(
        Object(["role", "content"], ("type", Enum("message")), ("role", Enum("user", "assistant", "system", "developer")), ("content", TextOrParts("input_text", "output_text"))),
        Object(["type", "call_id", "name", "arguments"], ("type", Enum("function_call")), ("call_id", String()), ("name", String()), ("arguments", String())),
        Object(["type", "call_id", "output"], ("type", Enum("function_call_output")), ("call_id", String()), ("output", TextOrParts("input_text", "output_text"))),
        Object(["type"], ("type", Enum("reasoning"))));

    /// <summary>text.format of /v1/responses, flat (OutputFormat.ReadFlat).</summary>
    private static OpenApiSchema Format() => Object(["type"],
        ("type", Enum("text", "json_object", "json_schema")), ("name", String()), ("description", String()), ("schema", JsonSchemaObject()), ("strict", Boolean()));

    /// <summary>A /v1/responses tool: a function, flat; other tool types are accepted and not used.</summary>
    private static OpenApiSchema ResponsesTool() => Object(["type"],
        ("type", String()), ("name", String()), ("description", String()), ("parameters", JsonSchemaObject()), ("strict", Boolean()));

    private static OpenApiSchema JsonSchemaObject() => new() { Type = JsonSchemaType.Object, Description = "A JSON Schema." };

    private static OpenApiSchema String() => new() { Type = JsonSchemaType.String };

    private static OpenApiSchema Boolean() => new() { Type = JsonSchemaType.Boolean };

    private static OpenApiSchema Array(IOpenApiSchema items) => new() { Type = JsonSchemaType.Array, Items = items };

    private static OpenApiSchema Enum(params string[] values)
        => new() { Type = JsonSchemaType.String, Enum = [.. values.Select(v => (JsonNode)JsonValue.Create(v))] };

    private static OpenApiSchema OneOf(params IOpenApiSchema[] shapes) => new() { OneOf = [.. shapes] };

    private static OpenApiSchema Object(string[] required, params (string Name, IOpenApiSchema Schema)[] properties) => new()
    {
        Type = JsonSchemaType.Object,
        Properties = properties.ToDictionary(p => p.Name, p => p.Schema),
        Required = required.ToHashSet(),
    };
}
