namespace Sluice.Inference.Tests;

/// <summary>
/// Writes the smallest real ONNX model, <c>y = Identity(x)</c>, as protobuf bytes by hand, so tests
/// can choose element types and fixed dims. A dim is an int (fixed) or a string (symbolic).
/// </summary>
internal static class TinyOnnx
{
    public const int Float = 1;
    public const int Int64 = 7;

    public static string Identity(string dir, int elementType, params object[] dims)
    {
        var valueInfo = (string name) => Message(1, Text(name)).Concat(Message(2, Message(1, Varint(1, elementType).Concat(Message(2, Shape(dims))))));
        var node = Message(1, Text("x")).Concat(Message(2, Text("y"))).Concat(Message(4, Text("Identity")));
        var graph = Message(1, node).Concat(Message(2, Text("tiny"))).Concat(Message(11, valueInfo("x"))).Concat(Message(12, valueInfo("y")));
        var model = Varint(1, 7).Concat(Message(7, graph)).Concat(Message(8, Varint(2, 13)));
        Directory.CreateDirectory(dir);
        var path = Path.Combine(dir, $"identity-{elementType}-{string.Join('x', dims)}.onnx");
        File.WriteAllBytes(path, model.ToArray());
        return path;
    }

    private static IEnumerable<byte> Shape(object[] dims) =>
        dims.SelectMany(d => Message(1, d is int n ? Varint(1, n) : Message(2, Text((string)d))));

    // Field helpers: a nested message (or string) is wire type 2; an integer is wire type 0.
    private static IEnumerable<byte> Message(int field, IEnumerable<byte> body)
    {
        var bytes = body.ToArray();
        return Raw((ulong)(field << 3 | 2)).Concat(Raw((ulong)bytes.Length)).Concat(bytes);
    }

    private static IEnumerable<byte> Text(string s) => System.Text.Encoding.UTF8.GetBytes(s);

    private static IEnumerable<byte> Varint(int field, long value) => Raw((ulong)(field << 3)).Concat(Raw((ulong)value));

    private static IEnumerable<byte> Raw(ulong value)
    {
        var bytes = new List<byte>();
        do
        {
            var b = (byte)(value & 0x7F);
            value >>= 7;
            bytes.Add(value != 0 ? (byte)(b | 0x80) : b);
        }
        while (value != 0);
        return bytes;
    }
}
