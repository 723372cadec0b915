using System.Globalization;

namespace Sluice.Jobs.Binding;

/// <summary>Sizes as people write them: a plain number of bytes, or a number with KiB, MiB, GiB (KB, MB, GB read as binary units).</summary>
public static class ByteSizes
{
    private static readonly (string Suffix, long Factor)[] Units =
        [("KiB", 1L << 10), ("MiB", 1L << 20), ("GiB", 1L << 30), ("TiB", 1L << 40), ("KB", 1L << 10), ("MB", 1L << 20), ("GB", 1L << 30), ("TB", 1L << 40), ("B", 1)];

    public static bool TryParse(string text, out long bytes)
    {
        ArgumentNullException.ThrowIfNull(text);
        bytes = 0;
        var t = text.Trim();
        long factor = 1;
        foreach (var (suffix, f) in Units)
        {
            if (!t.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)) continue;
            factor = f;
            t = t[..^suffix.Length].Trim();
            break;
        }
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) || n < 0 || !double.IsFinite(n * factor) || n * factor > long.MaxValue) return false;
        bytes = (long)(n * factor);
        return true;
    }
}

internal static class ArgumentValidation
{
    public static T NotNull<T>(T? value, [System.Runtime.CompilerServices.CallerArgumentExpression(nameof(value))] string? name = null) where T : class =>
        value ?? throw new ArgumentNullException(name);
}
