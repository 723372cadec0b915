using System.Globalization;

namespace Sluice.Jobs.Binding;

/// <summary>Durations as people write them: a number with ms, s, m or h (<c>500ms</c>, <c>30s</c>, <c>2m</c>, <c>1.5h</c>); a plain number is seconds.</summary>
public static class Durations
{
    /// <summary>What an error shows as accepted.</summary>
    public const string Examples = "500ms, 30s, 2m or 1h (a plain number is seconds)";

    private static readonly (string Suffix, double Seconds)[] Units = [("ms", 0.001), ("s", 1), ("m", 60), ("h", 3600)];

    public static bool TryParse(string text, out TimeSpan duration)
    {
        ArgumentNullException.ThrowIfNull(text);
        duration = TimeSpan.Zero;
        var t = text.Trim();
        var factor = 1.0;
        // "ms" before "s" and "m": the longest suffix that matches wins.
        foreach (var (suffix, seconds) in Units.OrderByDescending(u => u.Suffix.Length))
        {
            if (!t.EndsWith(suffix, StringComparison.OrdinalIgnoreCase)) continue;
            factor = seconds;
            t = t[..^suffix.Length].Trim();
            break;
        }
        if (!double.TryParse(t, NumberStyles.Float, CultureInfo.InvariantCulture, out var n) || n < 0 || !double.IsFinite(n * factor) || n * factor > TimeSpan.MaxValue.TotalSeconds / 2) return false;
        duration = TimeSpan.FromSeconds(n * factor);
        return true;
    }
}
