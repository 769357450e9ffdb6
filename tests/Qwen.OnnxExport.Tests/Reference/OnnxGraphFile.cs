using Google.Protobuf;

namespace Qwen.OnnxExport.Tests.Reference;

/// <summary>
/// A minimal reader of an ONNX model's graph written for the tests from onnx.proto's field numbers, independent of the
/// exporter's writer: each node's op type, inputs, outputs and integer attributes, and each initializer's element type.
/// </summary>
internal sealed class OnnxGraphFile
{
    /// <summary>TensorProto.DataType FLOAT.</summary>
    public const int Float = 1;

    /// <summary>TensorProto.DataType FLOAT16.</summary>
    public const int Float16 = 10;

    private OnnxGraphFile(List<Node> nodes, Dictionary<string, int> initializers)
    {
        Nodes = nodes;
        Initializers = initializers;
    }

    /// <summary>The graph's nodes in file order.</summary>
    public IReadOnlyList<Node> Nodes { get; }

    /// <summary>Initializer name → TensorProto.DataType.</summary>
    public IReadOnlyDictionary<string, int> Initializers { get; }

    public static OnnxGraphFile Read(string path)
    {
        var nodes = new List<Node>();
        var initializers = new Dictionary<string, int>();
        foreach (var (field, graph) in Fields(File.ReadAllBytes(path)))
        {
            if (field != 7) // ModelProto.graph
            {
                continue;
            }
            foreach (var (f, value) in Fields(graph))
            {
                if (f == 1) // GraphProto.node
                {
                    nodes.Add(ReadNode(value));
                }
                else if (f == 5) // GraphProto.initializer: TensorProto name (8), data_type (2)
                {
                    var tensor = Fields(value).ToList();
                    initializers[Text(tensor.Single(t => t.Field == 8).Value)] = (int)Varint(tensor.Single(t => t.Field == 2).Value);
                }
            }
        }
        return new OnnxGraphFile(nodes, initializers);
    }

    private static Node ReadNode(byte[] bytes)
    {
        string opType = "", domain = "";
        List<string> inputs = [], outputs = [];
        var attributes = new Dictionary<string, long>();
        foreach (var (f, value) in Fields(bytes))
        {
            switch (f)
            {
                case 1: inputs.Add(Text(value)); break;
                case 2: outputs.Add(Text(value)); break;
                case 4: opType = Text(value); break;
                case 7: domain = Text(value); break;
                case 5: // AttributeProto: name (1), i (3)
                    var attribute = Fields(value).ToList();
                    if (attribute.FirstOrDefault(a => a.Field == 3) is { Value: not null } i)
                    {
                        attributes[Text(attribute.Single(a => a.Field == 1).Value)] = Varint(i.Value);
                    }
                    break;
            }
        }
        return new Node(opType, domain, inputs, outputs, attributes);
    }

    /// <summary>Every field of a message: its number, and its bytes (a varint's value is re-encoded as its own bytes).</summary>
    private static IEnumerable<(int Field, byte[] Value)> Fields(byte[] message)
    {
        var input = new CodedInputStream(message);
        var fields = new List<(int, byte[])>();
        uint tag;
        while ((tag = input.ReadTag()) != 0)
        {
            var field = WireFormat.GetTagFieldNumber(tag);
            switch (WireFormat.GetTagWireType(tag))
            {
                case WireFormat.WireType.LengthDelimited:
                    fields.Add((field, input.ReadBytes().ToByteArray()));
                    break;
                case WireFormat.WireType.Varint:
                    fields.Add((field, BitConverter.GetBytes(input.ReadInt64())));
                    break;
                default:
                    input.SkipLastField();
                    break;
            }
        }
        return fields;
    }

    private static string Text(byte[] value) => System.Text.Encoding.UTF8.GetString(value);

    private static long Varint(byte[] value) => BitConverter.ToInt64(value);

    /// <summary>One node: op type, domain, input and output names, integer attributes.</summary>
    internal sealed record Node(string OpType, string Domain, List<string> Inputs, List<string> Outputs, Dictionary<string, long> Attributes);
}
