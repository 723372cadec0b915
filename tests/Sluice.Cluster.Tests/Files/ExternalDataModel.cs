using Google.Protobuf;
using Onnx;

namespace Sluice.Cluster.Tests.Files;

/// <summary>An ONNX model whose large initializers lie in a file beside it (ONNX external data), as models over 2 GB must.</summary>
internal static class ExternalDataModel
{
    /// <summary>Writes <paramref name="source"/> as <c>{dir}/model.onnx</c> with every initializer of 1 KiB or more in <c>{dir}/model.onnx.data</c>.</summary>
    public static string Write(string source, string dir)
    {
        var model = ModelProto.Parser.ParseFrom(File.ReadAllBytes(source));
        Directory.CreateDirectory(dir);
        const string DataFile = "model.onnx.data";
        using var data = File.Create(Path.Combine(dir, DataFile));
        foreach (var t in model.Graph.Initializer.Where(t => t.RawData.Length >= 1024))
        {
            var offset = data.Position;
            t.RawData.WriteTo(data);
            t.ExternalData.Add(new StringStringEntryProto { Key = "location", Value = DataFile });
            t.ExternalData.Add(new StringStringEntryProto { Key = "offset", Value = offset.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            t.ExternalData.Add(new StringStringEntryProto { Key = "length", Value = t.RawData.Length.ToString(System.Globalization.CultureInfo.InvariantCulture) });
            t.DataLocation = TensorProto.Types.DataLocation.External;
            t.RawData = ByteString.Empty;
        }
        var path = Path.Combine(dir, "model.onnx");
        File.WriteAllBytes(path, model.ToByteArray());
        return path;
    }
}
