#pragma once
// Scale searches shared by ggml's k-quant reference quantizers (ggml-quants.c: nearest_int,
// make_qx_quants, make_q3_quants, make_qkx2_quants), reimplemented operation for operation.
//
// Bit-exactness with ggml needs the same float operations in the same order, each rounded to
// float. ggml builds these in its base library, which is compiled without -march flags and so
// without FMA; our builds use -march=native, where GCC fuses a*b+c into one FMA (one rounding
// instead of two) whenever it can. Everything that must round like ggml is therefore defined
// between ULK_STRICT_FP_BEGIN and ULK_STRICT_FP_END, which turn contraction off. GCC will not
// inline such a function into a caller compiled with contraction on, so the guarantee holds at
// every call site; keep the fast SIMD kernels outside the region.
#include <algorithm>
#include <bit>
#include <cmath>
#include <cstdint>

#if defined(__clang__)
#define ULK_STRICT_FP_BEGIN _Pragma("float_control(push)") _Pragma("clang fp contract(off)")
#define ULK_STRICT_FP_END _Pragma("float_control(pop)")
#elif defined(__GNUC__)
#define ULK_STRICT_FP_BEGIN _Pragma("GCC push_options") _Pragma("GCC optimize(\"fp-contract=off\")")
#define ULK_STRICT_FP_END _Pragma("GCC pop_options")
#else  // MSVC's /fp:precise does not contract
#define ULK_STRICT_FP_BEGIN
#define ULK_STRICT_FP_END
#endif

namespace ulk::quant::kquant {

// ggml's threshold below which a group counts as all zeros.
inline constexpr float kGroupMaxEps = 1e-15f;

ULK_STRICT_FP_BEGIN

// Round to nearest, ties to even, by adding 1.5 * 2^23: the float add does the rounding and the
// integer lands in the low mantissa bits. Valid for |x| < 2^22; outside that it returns the same
// garbage as ggml's, which is the point.
inline int nearest_int(float x) {
    const float shifted = x + 12582912.f;
    return int(std::bit_cast<std::uint32_t>(shifted) & 0x007fffffu) - 0x00400000;
}

// The value of largest magnitude (first one on ties, sign kept) and that magnitude: the symmetric
// fits map it to -nmax.
struct SignedExtreme {
    float value = 0, magnitude = 0;
};
inline SignedExtreme signed_extreme(int n, const float* x) {
    SignedExtreme e;
    for (int i = 0; i < n; ++i) {
        const float ax = std::fabs(x[i]);
        if (ax > e.magnitude) { e.magnitude = ax; e.value = x[i]; }
    }
    return e;
}

// Symmetric codes in [-nmax, nmax - 1] for n values, scale fitted by weighted least squares
// (ggml's make_qx_quants with rmse_type 1): start from the scale that maps the extreme value to
// -nmax, try 18 nearby ones, keep the codes whose least-squares scale explains most of the
// weighted energy. weights == nullptr means x^2. Stores codes + nmax in codes[]; returns the scale.
inline float fit_symmetric_scale(int n, int nmax, const float* x, std::int8_t* codes, const float* weights) {
    const SignedExtreme e = signed_extreme(n, x);
    const float max = e.value, amax = e.magnitude;
    if (amax < kGroupMaxEps) {
        std::fill(codes, codes + n, std::int8_t(0));
        return 0.f;
    }
    auto weight = [&](int i) { return weights ? weights[i] : x[i] * x[i]; };
    auto code = [&](float iscale, int i) { return std::max(-nmax, std::min(nmax - 1, nearest_int(iscale * x[i]))); };

    float iscale = float(-nmax) / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; ++i) {
        const int l = code(iscale, i);
        codes[i] = std::int8_t(l + nmax);
        const float w = weight(i);
        sumlx += w * x[i] * float(l);
        suml2 += w * float(l) * float(l);
    }
    float scale = suml2 != 0 ? sumlx / suml2 : 0.f;
    float best = scale * sumlx;  // weighted energy explained: sumlx^2 / suml2
    for (int step = -9; step <= 9; ++step) {
        if (step == 0) continue;
        iscale = -(float(nmax) + 0.1f * float(step)) / max;
        sumlx = suml2 = 0;
        for (int i = 0; i < n; ++i) {
            const int l = code(iscale, i);
            const float w = weight(i);
            sumlx += w * x[i] * float(l);
            suml2 += w * float(l) * float(l);
        }
        if (suml2 > 0 && sumlx * sumlx > best * suml2) {
            for (int i = 0; i < n; ++i) codes[i] = std::int8_t(code(iscale, i) + nmax);
            scale = sumlx / suml2;
            best = scale * sumlx;
        }
    }
    return scale;
}

// Symmetric codes in [-nmax, nmax - 1] with x^2 weights, refined one code at a time (ggml's
// make_q3_quants with do_rmse): after the first rounding, up to five sweeps move each code to
// the value the others' least-squares fit asks for, when that raises the explained energy.
// Stores codes + nmax; returns the scale.
inline float fit_symmetric_scale_refined(int n, int nmax, const float* x, std::int8_t* codes) {
    const SignedExtreme e = signed_extreme(n, x);
    const float max = e.value, amax = e.magnitude;
    if (amax < kGroupMaxEps) {
        std::fill(codes, codes + n, std::int8_t(0));
        return 0.f;
    }
    const float iscale = float(-nmax) / max;
    float sumlx = 0, suml2 = 0;
    for (int i = 0; i < n; ++i) {
        const int l = std::max(-nmax, std::min(nmax - 1, nearest_int(iscale * x[i])));
        codes[i] = std::int8_t(l);
        const float w = x[i] * x[i];
        sumlx += w * x[i] * float(l);
        suml2 += w * float(l) * float(l);
    }
    for (int sweep = 0; sweep < 5; ++sweep) {
        int changed = 0;
        for (int i = 0; i < n; ++i) {
            const float w = x[i] * x[i];
            float slx = sumlx - w * x[i] * float(codes[i]);
            if (slx > 0) {
                float sl2 = suml2 - w * float(codes[i]) * float(codes[i]);
                const int l = std::max(-nmax, std::min(nmax - 1, nearest_int(x[i] * sl2 / slx)));
                if (l != codes[i]) {
                    slx += w * x[i] * float(l);
                    sl2 += w * float(l) * float(l);
                    if (sl2 > 0 && slx * slx * suml2 > sumlx * sumlx * sl2) {
                        codes[i] = std::int8_t(l);
                        sumlx = slx;
                        suml2 = sl2;
                        ++changed;
                    }
                }
            }
        }
        if (!changed) break;
    }
    for (int i = 0; i < n; ++i) codes[i] = std::int8_t(codes[i] + nmax);
    return suml2 > 0.f ? sumlx / suml2 : 0.f;
}

// Asymmetric codes in [0, nmax] for x ~ scale * code - min, min >= 0 (ggml's make_qkx2_quants):
// start from the full range [min(x, 0), max(x)], then try nstep + 1 stretched ranges, each
// refitted by weighted least squares for (scale, min); keep the lowest weighted error (absolute
// if use_mad, else squared). `scratch` holds n codes. Returns the scale; *min_out = min.
inline float fit_scale_and_min(int n, int nmax, const float* x, const float* weights, std::uint8_t* codes,
                               float* min_out, std::uint8_t* scratch, float rmin, float rdelta, int nstep,
                               bool use_mad) {
    float min = x[0], max = x[0];
    float sum_w = weights[0];
    float sum_x = sum_w * x[0];
    for (int i = 1; i < n; ++i) {
        if (x[i] < min) min = x[i];
        if (x[i] > max) max = x[i];
        const float w = weights[i];
        sum_w += w;
        sum_x += w * x[i];
    }
    if (min > 0) min = 0;
    if (max == min) {
        for (int i = 0; i < n; ++i) codes[i] = 0;
        *min_out = -min;
        return 0.f;
    }
    auto error_of = [&](float diff) { return use_mad ? std::fabs(diff) : diff * diff; };

    float iscale = float(nmax) / (max - min);
    float scale = 1 / iscale;
    float best_error = 0;
    for (int i = 0; i < n; ++i) {
        const int l = nearest_int(iscale * (x[i] - min));
        codes[i] = std::uint8_t(std::max(0, std::min(nmax, l)));
        const float diff = scale * float(codes[i]) + min - x[i];
        best_error += weights[i] * error_of(diff);
    }
    if (nstep < 1) {
        *min_out = -min;
        return scale;
    }
    for (int step = 0; step <= nstep; ++step) {
        iscale = (rmin + rdelta * float(step) + float(nmax)) / (max - min);
        float sum_l = 0, sum_l2 = 0, sum_xl = 0;
        for (int i = 0; i < n; ++i) {
            const int l = std::max(0, std::min(nmax, nearest_int(iscale * (x[i] - min))));
            scratch[i] = std::uint8_t(l);
            const float w = weights[i];
            sum_l += w * float(l);
            sum_l2 += w * float(l) * float(l);
            sum_xl += w * float(l) * x[i];
        }
        const float det = sum_w * sum_l2 - sum_l * sum_l;
        if (det > 0) {
            float this_scale = (sum_w * sum_xl - sum_x * sum_l) / det;
            float this_min = (sum_l2 * sum_x - sum_l * sum_xl) / det;
            if (this_min > 0) {  // a positive min would need negative codes: fit the scale alone
                this_min = 0;
                this_scale = sum_xl / sum_l2;
            }
            float error = 0;
            for (int i = 0; i < n; ++i) {
                const float diff = this_scale * float(scratch[i]) + this_min - x[i];
                error += weights[i] * error_of(diff);
            }
            if (error < best_error) {
                for (int i = 0; i < n; ++i) codes[i] = scratch[i];
                best_error = error;
                scale = this_scale;
                min = this_min;
            }
        }
    }
    *min_out = -min;
    return scale;
}

ULK_STRICT_FP_END

}  // namespace ulk::quant::kquant
