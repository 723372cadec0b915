namespace Sluice.Inference.Tests;

/// <summary>Model inputs for equality tests.</summary>
internal static class Feeds
{
    private const int Rows = 4;
    private const int Length = 128;

    /// <summary>4 sequences of 128/77/20/5 tokens padded to 128, so the mask matters.</summary>
    public static Dictionary<string, HostTensor> MiniLm()
    {
        var random = new Random(5);
        var ids = new long[Rows * Length];
        var mask = new long[Rows * Length];
        int[] lengths = [128, 77, 20, 5];
        for (var r = 0; r < Rows; r++)
            for (var t = 0; t < lengths[r]; t++)
            {
                ids[r * Length + t] = t == 0 ? 101 : t == lengths[r] - 1 ? 102 : random.Next(1000, 30000);
                mask[r * Length + t] = 1;
            }
        long[] shape = [Rows, Length];
        return new()
        {
            ["input_ids"] = new(shape, null, ids),
            ["attention_mask"] = new(shape, null, mask),
            ["token_type_ids"] = new(shape, null, new long[Rows * Length]),
        };
    }

    /// <summary><paramref name="rows"/> synthetic RGB images, 0–255, [rows, 3, 224, 224]: smooth gradients plus noise, different per row.</summary>
    public static Dictionary<string, HostTensor> Images(int rows, int seed = 7)
    {
        const int side = 224;
        var random = new Random(seed);
        var data = new float[rows * 3 * side * side];
        for (var r = 0; r < rows; r++)
            for (var c = 0; c < 3; c++)
            {
                var phase = random.NextDouble() * Math.PI;
                for (var y = 0; y < side; y++)
                    for (var x = 0; x < side; x++)
                        data[((r * 3 + c) * side + y) * side + x] = (float)Math.Clamp(127.5 + 100 * Math.Sin(phase + (x + 2 * y * (c + 1)) / 37.0) + random.Next(-20, 20), 0, 255);
            }
        return new() { [ResNet18Export.Input] = HostTensor.Of(data, rows, 3, side, side) };
    }

    /// <summary>The images of <see cref="Images"/> rounded to uint8 pixels, as the dual-tower model takes them.</summary>
    public static HostTensor Pixels(int rows, int seed = 7)
    {
        var image = Images(rows, seed)[ResNet18Export.Input];
        return HostTensor.Of(image.Floats!.Select(v => (byte)Math.Round(v)).ToArray(), image.Shape);
    }
}
