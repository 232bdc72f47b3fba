; ModuleID = 'llmc_mmk'
source_filename = "llmc_mmk"

; Function Attrs: nounwind
define void @llmc_mmk(ptr %bufs, i64 %begin, i64 %end) #0 {
entry:
  %0 = getelementptr ptr, ptr %bufs, i64 0
  %A = load ptr, ptr %0, align 8
  %1 = getelementptr ptr, ptr %bufs, i64 1
  %B = load ptr, ptr %1, align 8
  %2 = getelementptr ptr, ptr %bufs, i64 3
  %C = load ptr, ptr %2, align 8
  %3 = getelementptr ptr, ptr %bufs, i64 0
  %in = load ptr, ptr %3, align 8
  %4 = getelementptr ptr, ptr %bufs, i64 1
  %in1 = load ptr, ptr %4, align 8
  %5 = getelementptr ptr, ptr %bufs, i64 2
  %in2 = load ptr, ptr %5, align 8
  %6 = getelementptr ptr, ptr %bufs, i64 3
  %out = load ptr, ptr %6, align 8
  %Ap = alloca [28672 x float], align 64
  %Bp = alloca [65536 x float], align 64
  %tile = alloca [448 x float], align 64
  br label %task

task:                                             ; preds = %done46, %entry
  %task3 = phi i64 [ %begin, %entry ], [ %133, %done46 ]
  %7 = icmp slt i64 %task3, %end
  br i1 %7, label %body, label %done

body:                                             ; preds = %task
  %b = sdiv i64 %task3, 1
  %8 = srem i64 %task3, 1
  %mb = sdiv i64 %8, 1
  %nb = srem i64 %8, 1
  %m0 = mul i64 %mb, 112
  %n0 = mul i64 %nb, 256
  %9 = sub i64 4, %m0
  %10 = icmp slt i64 112, %9
  %11 = select i1 %10, i64 112, i64 %9
  %12 = sub i64 16, %n0
  %13 = icmp slt i64 256, %12
  %14 = select i1 %13, i64 256, i64 %12
  %15 = mul i64 %b, 0
  %16 = mul i64 %b, 0
  %17 = getelementptr float, ptr %A, i64 %15
  %18 = getelementptr float, ptr %B, i64 %16
  %19 = mul i64 %b, 64
  %20 = getelementptr float, ptr %C, i64 %19
  %21 = add i64 %11, 13
  %22 = sdiv i64 %21, 14
  %23 = add i64 %14, 31
  %24 = sdiv i64 %23, 32
  br label %kblock

done:                                             ; preds = %task
  ret void

kblock:                                           ; preds = %done26, %body
  %pc = phi i64 [ 0, %body ], [ %77, %done26 ]
  %25 = sub i64 8, %pc
  %26 = icmp slt i64 256, %25
  %27 = select i1 %26, i64 256, i64 %25
  %first = icmp eq i64 %pc, 0
  br label %pack.panel

kblock.done:                                      ; preds = %done26
  br label %epi.row

pack.panel:                                       ; preds = %done8, %kblock
  %pack.panel6 = phi i64 [ 0, %kblock ], [ %30, %done8 ]
  %28 = icmp slt i64 %pack.panel6, %22
  br i1 %28, label %body4, label %done5

body4:                                            ; preds = %pack.panel
  br label %pack.outer

done5:                                            ; preds = %pack.panel
  br label %pack.panel13

pack.outer:                                       ; preds = %done11, %body4
  %pack.outer9 = phi i64 [ 0, %body4 ], [ %51, %done11 ]
  %29 = icmp slt i64 %pack.outer9, 14
  br i1 %29, label %body7, label %done8

body7:                                            ; preds = %pack.outer
  br label %pack.inner

done8:                                            ; preds = %pack.outer
  %30 = add i64 %pack.panel6, 1
  br label %pack.panel

pack.inner:                                       ; preds = %body10, %body7
  %pack.inner12 = phi i64 [ 0, %body7 ], [ %50, %body10 ]
  %31 = icmp slt i64 %pack.inner12, %27
  br i1 %31, label %body10, label %done11

body10:                                           ; preds = %pack.inner
  %32 = mul i64 %pack.panel6, 14
  %33 = add i64 %32, %pack.outer9
  %34 = add i64 %m0, %33
  %35 = icmp slt i64 %34, 4
  %36 = select i1 %35, i64 %34, i64 3
  %37 = add i64 %pc, %pack.inner12
  %38 = mul i64 %37, 1
  %39 = mul i64 %36, 8
  %40 = add i64 %39, %38
  %41 = getelementptr float, ptr %17, i64 %40
  %42 = load float, ptr %41, align 4
  %43 = select i1 %35, float %42, float 0.000000e+00
  %44 = mul i64 %pack.inner12, 14
  %45 = add i64 %44, %pack.outer9
  %46 = mul i64 %27, 14
  %47 = mul i64 %pack.panel6, %46
  %48 = add i64 %47, %45
  %49 = getelementptr float, ptr %Ap, i64 %48
  store float %43, ptr %49, align 4
  %50 = add i64 %pack.inner12, 1
  br label %pack.inner

done11:                                           ; preds = %pack.inner
  %51 = add i64 %pack.outer9, 1
  br label %pack.outer

pack.panel13:                                     ; preds = %done19, %done5
  %pack.panel16 = phi i64 [ 0, %done5 ], [ %54, %done19 ]
  %52 = icmp slt i64 %pack.panel16, %24
  br i1 %52, label %body14, label %done15

body14:                                           ; preds = %pack.panel13
  br label %pack.outer17

done15:                                           ; preds = %pack.panel13
  br label %panel.m

pack.outer17:                                     ; preds = %done23, %body14
  %pack.outer20 = phi i64 [ 0, %body14 ], [ %75, %done23 ]
  %53 = icmp slt i64 %pack.outer20, %27
  br i1 %53, label %body18, label %done19

body18:                                           ; preds = %pack.outer17
  br label %pack.inner21

done19:                                           ; preds = %pack.outer17
  %54 = add i64 %pack.panel16, 1
  br label %pack.panel13

pack.inner21:                                     ; preds = %body22, %body18
  %pack.inner24 = phi i64 [ 0, %body18 ], [ %74, %body22 ]
  %55 = icmp slt i64 %pack.inner24, 32
  br i1 %55, label %body22, label %done23

body22:                                           ; preds = %pack.inner21
  %56 = mul i64 %pack.panel16, 32
  %57 = add i64 %56, %pack.inner24
  %58 = add i64 %n0, %57
  %59 = icmp slt i64 %58, 16
  %60 = select i1 %59, i64 %58, i64 15
  %61 = add i64 %pc, %pack.outer20
  %62 = mul i64 %61, 16
  %63 = mul i64 %60, 1
  %64 = add i64 %63, %62
  %65 = getelementptr float, ptr %18, i64 %64
  %66 = load float, ptr %65, align 4
  %67 = select i1 %59, float %66, float 0.000000e+00
  %68 = mul i64 %pack.outer20, 32
  %69 = add i64 %68, %pack.inner24
  %70 = mul i64 %27, 32
  %71 = mul i64 %pack.panel16, %70
  %72 = add i64 %71, %69
  %73 = getelementptr float, ptr %Bp, i64 %72
  store float %67, ptr %73, align 4
  %74 = add i64 %pack.inner24, 1
  br label %pack.inner21

done23:                                           ; preds = %pack.inner21
  %75 = add i64 %pack.outer20, 1
  br label %pack.outer17

panel.m:                                          ; preds = %done29, %done15
  %panel.m27 = phi i64 [ 0, %done15 ], [ %103, %done29 ]
  %76 = icmp slt i64 %panel.m27, %22
  br i1 %76, label %body25, label %done26

body25:                                           ; preds = %panel.m
  br label %panel.n

done26:                                           ; preds = %panel.m
  %77 = add i64 %pc, 256
  %78 = icmp slt i64 %77, 8
  br i1 %78, label %kblock, label %kblock.done

panel.n:                                          ; preds = %tile.done, %body25
  %panel.n30 = phi i64 [ 0, %body25 ], [ %104, %tile.done ]
  %79 = icmp slt i64 %panel.n30, %24
  br i1 %79, label %body28, label %done29

body28:                                           ; preds = %panel.n
  %80 = mul i64 %panel.m27, 14
  %81 = sub i64 %11, %80
  %82 = icmp slt i64 14, %81
  %83 = select i1 %82, i64 14, i64 %81
  %84 = mul i64 %panel.n30, 32
  %85 = sub i64 %14, %84
  %86 = icmp slt i64 32, %85
  %87 = select i1 %86, i64 32, i64 %85
  %88 = icmp eq i64 %87, 32
  %89 = icmp eq i64 %83, 14
  %full = and i1 %89, %88
  %90 = mul i64 %27, 14
  %91 = mul i64 %panel.m27, %90
  %92 = getelementptr float, ptr %Ap, i64 %91
  %93 = mul i64 %27, 32
  %94 = mul i64 %panel.n30, %93
  %95 = getelementptr float, ptr %Bp, i64 %94
  %96 = mul i64 %panel.m27, 14
  %97 = add i64 %m0, %96
  %98 = mul i64 %panel.n30, 32
  %99 = add i64 %n0, %98
  %100 = mul i64 %97, 16
  %101 = add i64 %100, %99
  %102 = getelementptr float, ptr %20, i64 %101
  br i1 %full, label %tile.full, label %tile.edge

done29:                                           ; preds = %panel.n
  %103 = add i64 %panel.m27, 1
  br label %panel.m

tile.full:                                        ; preds = %body28
  call void @llmc_mmk.micro(ptr %92, ptr %95, i64 %27, ptr %102, i64 16, i1 %first)
  br label %tile.done

tile.edge:                                        ; preds = %body28
  br i1 %first, label %tile.edge.call, label %tile.copyin

tile.copyin:                                      ; preds = %tile.edge
  br label %copy.i

tile.edge.call:                                   ; preds = %done32, %tile.edge
  call void @llmc_mmk.micro(ptr %92, ptr %95, i64 %27, ptr %tile, i64 32, i1 %first)
  br label %copy.i37

tile.done:                                        ; preds = %done39, %tile.full
  %104 = add i64 %panel.n30, 1
  br label %panel.n

copy.i:                                           ; preds = %done35, %tile.copyin
  %copy.i33 = phi i64 [ 0, %tile.copyin ], [ %115, %done35 ]
  %105 = icmp slt i64 %copy.i33, %83
  br i1 %105, label %body31, label %done32

body31:                                           ; preds = %copy.i
  br label %copy.j

done32:                                           ; preds = %copy.i
  br label %tile.edge.call

copy.j:                                           ; preds = %body34, %body31
  %copy.j36 = phi i64 [ 0, %body31 ], [ %114, %body34 ]
  %106 = icmp slt i64 %copy.j36, %87
  br i1 %106, label %body34, label %done35

body34:                                           ; preds = %copy.j
  %107 = mul i64 %copy.i33, 16
  %108 = add i64 %107, %copy.j36
  %109 = getelementptr float, ptr %102, i64 %108
  %110 = load float, ptr %109, align 4
  %111 = mul i64 %copy.i33, 32
  %112 = add i64 %111, %copy.j36
  %113 = getelementptr float, ptr %tile, i64 %112
  store float %110, ptr %113, align 4
  %114 = add i64 %copy.j36, 1
  br label %copy.j

done35:                                           ; preds = %copy.j
  %115 = add i64 %copy.i33, 1
  br label %copy.i

copy.i37:                                         ; preds = %done43, %tile.edge.call
  %copy.i40 = phi i64 [ 0, %tile.edge.call ], [ %126, %done43 ]
  %116 = icmp slt i64 %copy.i40, %83
  br i1 %116, label %body38, label %done39

body38:                                           ; preds = %copy.i37
  br label %copy.j41

done39:                                           ; preds = %copy.i37
  br label %tile.done

copy.j41:                                         ; preds = %body42, %body38
  %copy.j44 = phi i64 [ 0, %body38 ], [ %125, %body42 ]
  %117 = icmp slt i64 %copy.j44, %87
  br i1 %117, label %body42, label %done43

body42:                                           ; preds = %copy.j41
  %118 = mul i64 %copy.i40, 32
  %119 = add i64 %118, %copy.j44
  %120 = getelementptr float, ptr %tile, i64 %119
  %121 = load float, ptr %120, align 4
  %122 = mul i64 %copy.i40, 16
  %123 = add i64 %122, %copy.j44
  %124 = getelementptr float, ptr %102, i64 %123
  store float %121, ptr %124, align 4
  %125 = add i64 %copy.j44, 1
  br label %copy.j41

done43:                                           ; preds = %copy.j41
  %126 = add i64 %copy.i40, 1
  br label %copy.i37

epi.row:                                          ; preds = %done52, %kblock.done
  %epi.row47 = phi i64 [ 0, %kblock.done ], [ %249, %done52 ]
  %127 = icmp slt i64 %epi.row47, %11
  br i1 %127, label %body45, label %done46

body45:                                           ; preds = %epi.row
  %128 = add i64 %m0, %epi.row47
  %129 = mul i64 %128, 16
  %130 = mul i64 %b, 64
  %131 = add i64 %130, %129
  %epi.rowbase = add i64 %131, %n0
  %132 = sdiv i64 %14, 16
  br label %epi.vec

done46:                                           ; preds = %epi.row
  %133 = add i64 %task3, 1
  br label %task

epi.vec:                                          ; preds = %body48, %body45
  %epi.vec50 = phi i64 [ 0, %body45 ], [ %236, %body48 ]
  %134 = icmp slt i64 %epi.vec50, %132
  br i1 %134, label %body48, label %done49

body48:                                           ; preds = %epi.vec
  %135 = mul i64 %epi.vec50, 16
  %136 = add i64 %epi.rowbase, %135
  %137 = getelementptr float, ptr %C, i64 %136
  %138 = load <16 x float>, ptr %137, align 4
  %139 = urem i64 %136, 16
  %140 = add i64 0, %139
  %141 = getelementptr float, ptr %in2, i64 %140
  %142 = load float, ptr %141, align 4
  %143 = insertelement <16 x float> poison, float %142, i32 0
  %144 = add i64 %136, 1
  %145 = urem i64 %144, 16
  %146 = add i64 0, %145
  %147 = getelementptr float, ptr %in2, i64 %146
  %148 = load float, ptr %147, align 4
  %149 = insertelement <16 x float> %143, float %148, i32 1
  %150 = add i64 %136, 2
  %151 = urem i64 %150, 16
  %152 = add i64 0, %151
  %153 = getelementptr float, ptr %in2, i64 %152
  %154 = load float, ptr %153, align 4
  %155 = insertelement <16 x float> %149, float %154, i32 2
  %156 = add i64 %136, 3
  %157 = urem i64 %156, 16
  %158 = add i64 0, %157
  %159 = getelementptr float, ptr %in2, i64 %158
  %160 = load float, ptr %159, align 4
  %161 = insertelement <16 x float> %155, float %160, i32 3
  %162 = add i64 %136, 4
  %163 = urem i64 %162, 16
  %164 = add i64 0, %163
  %165 = getelementptr float, ptr %in2, i64 %164
  %166 = load float, ptr %165, align 4
  %167 = insertelement <16 x float> %161, float %166, i32 4
  %168 = add i64 %136, 5
  %169 = urem i64 %168, 16
  %170 = add i64 0, %169
  %171 = getelementptr float, ptr %in2, i64 %170
  %172 = load float, ptr %171, align 4
  %173 = insertelement <16 x float> %167, float %172, i32 5
  %174 = add i64 %136, 6
  %175 = urem i64 %174, 16
  %176 = add i64 0, %175
  %177 = getelementptr float, ptr %in2, i64 %176
  %178 = load float, ptr %177, align 4
  %179 = insertelement <16 x float> %173, float %178, i32 6
  %180 = add i64 %136, 7
  %181 = urem i64 %180, 16
  %182 = add i64 0, %181
  %183 = getelementptr float, ptr %in2, i64 %182
  %184 = load float, ptr %183, align 4
  %185 = insertelement <16 x float> %179, float %184, i32 7
  %186 = add i64 %136, 8
  %187 = urem i64 %186, 16
  %188 = add i64 0, %187
  %189 = getelementptr float, ptr %in2, i64 %188
  %190 = load float, ptr %189, align 4
  %191 = insertelement <16 x float> %185, float %190, i32 8
  %192 = add i64 %136, 9
  %193 = urem i64 %192, 16
  %194 = add i64 0, %193
  %195 = getelementptr float, ptr %in2, i64 %194
  %196 = load float, ptr %195, align 4
  %197 = insertelement <16 x float> %191, float %196, i32 9
  %198 = add i64 %136, 10
  %199 = urem i64 %198, 16
  %200 = add i64 0, %199
  %201 = getelementptr float, ptr %in2, i64 %200
  %202 = load float, ptr %201, align 4
  %203 = insertelement <16 x float> %197, float %202, i32 10
  %204 = add i64 %136, 11
  %205 = urem i64 %204, 16
  %206 = add i64 0, %205
  %207 = getelementptr float, ptr %in2, i64 %206
  %208 = load float, ptr %207, align 4
  %209 = insertelement <16 x float> %203, float %208, i32 11
  %210 = add i64 %136, 12
  %211 = urem i64 %210, 16
  %212 = add i64 0, %211
  %213 = getelementptr float, ptr %in2, i64 %212
  %214 = load float, ptr %213, align 4
  %215 = insertelement <16 x float> %209, float %214, i32 12
  %216 = add i64 %136, 13
  %217 = urem i64 %216, 16
  %218 = add i64 0, %217
  %219 = getelementptr float, ptr %in2, i64 %218
  %220 = load float, ptr %219, align 4
  %221 = insertelement <16 x float> %215, float %220, i32 13
  %222 = add i64 %136, 14
  %223 = urem i64 %222, 16
  %224 = add i64 0, %223
  %225 = getelementptr float, ptr %in2, i64 %224
  %226 = load float, ptr %225, align 4
  %227 = insertelement <16 x float> %221, float %226, i32 14
  %228 = add i64 %136, 15
  %229 = urem i64 %228, 16
  %230 = add i64 0, %229
  %231 = getelementptr float, ptr %in2, i64 %230
  %232 = load float, ptr %231, align 4
  %233 = insertelement <16 x float> %227, float %232, i32 15
  %234 = fadd <16 x float> %138, %233
  %235 = getelementptr float, ptr %out, i64 %136
  store <16 x float> %234, ptr %235, align 4
  %236 = add i64 %epi.vec50, 1
  br label %epi.vec

done49:                                           ; preds = %epi.vec
  %237 = mul i64 %132, 16
  br label %epi.tail

epi.tail:                                         ; preds = %body51, %done49
  %epi.tail53 = phi i64 [ %237, %done49 ], [ %248, %body51 ]
  %238 = icmp slt i64 %epi.tail53, %14
  br i1 %238, label %body51, label %done52

body51:                                           ; preds = %epi.tail
  %239 = add i64 %epi.rowbase, %epi.tail53
  %240 = getelementptr float, ptr %C, i64 %239
  %241 = load float, ptr %240, align 4
  %242 = urem i64 %239, 16
  %243 = add i64 0, %242
  %244 = getelementptr float, ptr %in2, i64 %243
  %245 = load float, ptr %244, align 4
  %246 = fadd float %241, %245
  %247 = getelementptr float, ptr %out, i64 %239
  store float %246, ptr %247, align 4
  %248 = add i64 %epi.tail53, 1
  br label %epi.tail

done52:                                           ; preds = %epi.tail
  %249 = add i64 %epi.row47, 1
  br label %epi.row
}

; Function Attrs: nounwind
define internal void @llmc_mmk.micro(ptr %ap, ptr %bp, i64 %kc, ptr %c, i64 %ldc, i1 %first) #0 {
entry:
  br i1 %first, label %k.head, label %load.c

load.c:                                           ; preds = %entry
  %0 = mul i64 0, %ldc
  %1 = add i64 %0, 0
  %2 = getelementptr float, ptr %c, i64 %1
  %3 = load <16 x float>, ptr %2, align 4
  %4 = add i64 %0, 16
  %5 = getelementptr float, ptr %c, i64 %4
  %6 = load <16 x float>, ptr %5, align 4
  %7 = mul i64 1, %ldc
  %8 = add i64 %7, 0
  %9 = getelementptr float, ptr %c, i64 %8
  %10 = load <16 x float>, ptr %9, align 4
  %11 = add i64 %7, 16
  %12 = getelementptr float, ptr %c, i64 %11
  %13 = load <16 x float>, ptr %12, align 4
  %14 = mul i64 2, %ldc
  %15 = add i64 %14, 0
  %16 = getelementptr float, ptr %c, i64 %15
  %17 = load <16 x float>, ptr %16, align 4
  %18 = add i64 %14, 16
  %19 = getelementptr float, ptr %c, i64 %18
  %20 = load <16 x float>, ptr %19, align 4
  %21 = mul i64 3, %ldc
  %22 = add i64 %21, 0
  %23 = getelementptr float, ptr %c, i64 %22
  %24 = load <16 x float>, ptr %23, align 4
  %25 = add i64 %21, 16
  %26 = getelementptr float, ptr %c, i64 %25
  %27 = load <16 x float>, ptr %26, align 4
  %28 = mul i64 4, %ldc
  %29 = add i64 %28, 0
  %30 = getelementptr float, ptr %c, i64 %29
  %31 = load <16 x float>, ptr %30, align 4
  %32 = add i64 %28, 16
  %33 = getelementptr float, ptr %c, i64 %32
  %34 = load <16 x float>, ptr %33, align 4
  %35 = mul i64 5, %ldc
  %36 = add i64 %35, 0
  %37 = getelementptr float, ptr %c, i64 %36
  %38 = load <16 x float>, ptr %37, align 4
  %39 = add i64 %35, 16
  %40 = getelementptr float, ptr %c, i64 %39
  %41 = load <16 x float>, ptr %40, align 4
  %42 = mul i64 6, %ldc
  %43 = add i64 %42, 0
  %44 = getelementptr float, ptr %c, i64 %43
  %45 = load <16 x float>, ptr %44, align 4
  %46 = add i64 %42, 16
  %47 = getelementptr float, ptr %c, i64 %46
  %48 = load <16 x float>, ptr %47, align 4
  %49 = mul i64 7, %ldc
  %50 = add i64 %49, 0
  %51 = getelementptr float, ptr %c, i64 %50
  %52 = load <16 x float>, ptr %51, align 4
  %53 = add i64 %49, 16
  %54 = getelementptr float, ptr %c, i64 %53
  %55 = load <16 x float>, ptr %54, align 4
  %56 = mul i64 8, %ldc
  %57 = add i64 %56, 0
  %58 = getelementptr float, ptr %c, i64 %57
  %59 = load <16 x float>, ptr %58, align 4
  %60 = add i64 %56, 16
  %61 = getelementptr float, ptr %c, i64 %60
  %62 = load <16 x float>, ptr %61, align 4
  %63 = mul i64 9, %ldc
  %64 = add i64 %63, 0
  %65 = getelementptr float, ptr %c, i64 %64
  %66 = load <16 x float>, ptr %65, align 4
  %67 = add i64 %63, 16
  %68 = getelementptr float, ptr %c, i64 %67
  %69 = load <16 x float>, ptr %68, align 4
  %70 = mul i64 10, %ldc
  %71 = add i64 %70, 0
  %72 = getelementptr float, ptr %c, i64 %71
  %73 = load <16 x float>, ptr %72, align 4
  %74 = add i64 %70, 16
  %75 = getelementptr float, ptr %c, i64 %74
  %76 = load <16 x float>, ptr %75, align 4
  %77 = mul i64 11, %ldc
  %78 = add i64 %77, 0
  %79 = getelementptr float, ptr %c, i64 %78
  %80 = load <16 x float>, ptr %79, align 4
  %81 = add i64 %77, 16
  %82 = getelementptr float, ptr %c, i64 %81
  %83 = load <16 x float>, ptr %82, align 4
  %84 = mul i64 12, %ldc
  %85 = add i64 %84, 0
  %86 = getelementptr float, ptr %c, i64 %85
  %87 = load <16 x float>, ptr %86, align 4
  %88 = add i64 %84, 16
  %89 = getelementptr float, ptr %c, i64 %88
  %90 = load <16 x float>, ptr %89, align 4
  %91 = mul i64 13, %ldc
  %92 = add i64 %91, 0
  %93 = getelementptr float, ptr %c, i64 %92
  %94 = load <16 x float>, ptr %93, align 4
  %95 = add i64 %91, 16
  %96 = getelementptr float, ptr %c, i64 %95
  %97 = load <16 x float>, ptr %96, align 4
  br label %k.head

k.head:                                           ; preds = %k.body, %load.c, %entry
  %k = phi i64 [ 0, %entry ], [ 0, %load.c ], [ %189, %k.body ]
  %acc = phi <16 x float> [ zeroinitializer, %entry ], [ %3, %load.c ], [ %109, %k.body ]
  %acc1 = phi <16 x float> [ zeroinitializer, %entry ], [ %6, %load.c ], [ %110, %k.body ]
  %acc2 = phi <16 x float> [ zeroinitializer, %entry ], [ %10, %load.c ], [ %115, %k.body ]
  %acc3 = phi <16 x float> [ zeroinitializer, %entry ], [ %13, %load.c ], [ %116, %k.body ]
  %acc4 = phi <16 x float> [ zeroinitializer, %entry ], [ %17, %load.c ], [ %121, %k.body ]
  %acc5 = phi <16 x float> [ zeroinitializer, %entry ], [ %20, %load.c ], [ %122, %k.body ]
  %acc6 = phi <16 x float> [ zeroinitializer, %entry ], [ %24, %load.c ], [ %127, %k.body ]
  %acc7 = phi <16 x float> [ zeroinitializer, %entry ], [ %27, %load.c ], [ %128, %k.body ]
  %acc8 = phi <16 x float> [ zeroinitializer, %entry ], [ %31, %load.c ], [ %133, %k.body ]
  %acc9 = phi <16 x float> [ zeroinitializer, %entry ], [ %34, %load.c ], [ %134, %k.body ]
  %acc10 = phi <16 x float> [ zeroinitializer, %entry ], [ %38, %load.c ], [ %139, %k.body ]
  %acc11 = phi <16 x float> [ zeroinitializer, %entry ], [ %41, %load.c ], [ %140, %k.body ]
  %acc12 = phi <16 x float> [ zeroinitializer, %entry ], [ %45, %load.c ], [ %145, %k.body ]
  %acc13 = phi <16 x float> [ zeroinitializer, %entry ], [ %48, %load.c ], [ %146, %k.body ]
  %acc14 = phi <16 x float> [ zeroinitializer, %entry ], [ %52, %load.c ], [ %151, %k.body ]
  %acc15 = phi <16 x float> [ zeroinitializer, %entry ], [ %55, %load.c ], [ %152, %k.body ]
  %acc16 = phi <16 x float> [ zeroinitializer, %entry ], [ %59, %load.c ], [ %157, %k.body ]
  %acc17 = phi <16 x float> [ zeroinitializer, %entry ], [ %62, %load.c ], [ %158, %k.body ]
  %acc18 = phi <16 x float> [ zeroinitializer, %entry ], [ %66, %load.c ], [ %163, %k.body ]
  %acc19 = phi <16 x float> [ zeroinitializer, %entry ], [ %69, %load.c ], [ %164, %k.body ]
  %acc20 = phi <16 x float> [ zeroinitializer, %entry ], [ %73, %load.c ], [ %169, %k.body ]
  %acc21 = phi <16 x float> [ zeroinitializer, %entry ], [ %76, %load.c ], [ %170, %k.body ]
  %acc22 = phi <16 x float> [ zeroinitializer, %entry ], [ %80, %load.c ], [ %175, %k.body ]
  %acc23 = phi <16 x float> [ zeroinitializer, %entry ], [ %83, %load.c ], [ %176, %k.body ]
  %acc24 = phi <16 x float> [ zeroinitializer, %entry ], [ %87, %load.c ], [ %181, %k.body ]
  %acc25 = phi <16 x float> [ zeroinitializer, %entry ], [ %90, %load.c ], [ %182, %k.body ]
  %acc26 = phi <16 x float> [ zeroinitializer, %entry ], [ %94, %load.c ], [ %187, %k.body ]
  %acc27 = phi <16 x float> [ zeroinitializer, %entry ], [ %97, %load.c ], [ %188, %k.body ]
  %98 = icmp slt i64 %k, %kc
  br i1 %98, label %k.body, label %store.c

k.body:                                           ; preds = %k.head
  %99 = mul i64 %k, 32
  %100 = mul i64 %k, 14
  %101 = add i64 %99, 0
  %102 = getelementptr float, ptr %bp, i64 %101
  %b = load <16 x float>, ptr %102, align 64
  %103 = add i64 %99, 16
  %104 = getelementptr float, ptr %bp, i64 %103
  %b28 = load <16 x float>, ptr %104, align 64
  %105 = add i64 %100, 0
  %106 = getelementptr float, ptr %ap, i64 %105
  %107 = load float, ptr %106, align 4
  %108 = insertelement <16 x float> poison, float %107, i32 0
  %a = shufflevector <16 x float> %108, <16 x float> poison, <16 x i32> zeroinitializer
  %109 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a, <16 x float> %b, <16 x float> %acc)
  %110 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a, <16 x float> %b28, <16 x float> %acc1)
  %111 = add i64 %100, 1
  %112 = getelementptr float, ptr %ap, i64 %111
  %113 = load float, ptr %112, align 4
  %114 = insertelement <16 x float> poison, float %113, i32 0
  %a29 = shufflevector <16 x float> %114, <16 x float> poison, <16 x i32> zeroinitializer
  %115 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a29, <16 x float> %b, <16 x float> %acc2)
  %116 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a29, <16 x float> %b28, <16 x float> %acc3)
  %117 = add i64 %100, 2
  %118 = getelementptr float, ptr %ap, i64 %117
  %119 = load float, ptr %118, align 4
  %120 = insertelement <16 x float> poison, float %119, i32 0
  %a30 = shufflevector <16 x float> %120, <16 x float> poison, <16 x i32> zeroinitializer
  %121 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a30, <16 x float> %b, <16 x float> %acc4)
  %122 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a30, <16 x float> %b28, <16 x float> %acc5)
  %123 = add i64 %100, 3
  %124 = getelementptr float, ptr %ap, i64 %123
  %125 = load float, ptr %124, align 4
  %126 = insertelement <16 x float> poison, float %125, i32 0
  %a31 = shufflevector <16 x float> %126, <16 x float> poison, <16 x i32> zeroinitializer
  %127 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a31, <16 x float> %b, <16 x float> %acc6)
  %128 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a31, <16 x float> %b28, <16 x float> %acc7)
  %129 = add i64 %100, 4
  %130 = getelementptr float, ptr %ap, i64 %129
  %131 = load float, ptr %130, align 4
  %132 = insertelement <16 x float> poison, float %131, i32 0
  %a32 = shufflevector <16 x float> %132, <16 x float> poison, <16 x i32> zeroinitializer
  %133 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a32, <16 x float> %b, <16 x float> %acc8)
  %134 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a32, <16 x float> %b28, <16 x float> %acc9)
  %135 = add i64 %100, 5
  %136 = getelementptr float, ptr %ap, i64 %135
  %137 = load float, ptr %136, align 4
  %138 = insertelement <16 x float> poison, float %137, i32 0
  %a33 = shufflevector <16 x float> %138, <16 x float> poison, <16 x i32> zeroinitializer
  %139 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a33, <16 x float> %b, <16 x float> %acc10)
  %140 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a33, <16 x float> %b28, <16 x float> %acc11)
  %141 = add i64 %100, 6
  %142 = getelementptr float, ptr %ap, i64 %141
  %143 = load float, ptr %142, align 4
  %144 = insertelement <16 x float> poison, float %143, i32 0
  %a34 = shufflevector <16 x float> %144, <16 x float> poison, <16 x i32> zeroinitializer
  %145 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a34, <16 x float> %b, <16 x float> %acc12)
  %146 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a34, <16 x float> %b28, <16 x float> %acc13)
  %147 = add i64 %100, 7
  %148 = getelementptr float, ptr %ap, i64 %147
  %149 = load float, ptr %148, align 4
  %150 = insertelement <16 x float> poison, float %149, i32 0
  %a35 = shufflevector <16 x float> %150, <16 x float> poison, <16 x i32> zeroinitializer
  %151 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a35, <16 x float> %b, <16 x float> %acc14)
  %152 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a35, <16 x float> %b28, <16 x float> %acc15)
  %153 = add i64 %100, 8
  %154 = getelementptr float, ptr %ap, i64 %153
  %155 = load float, ptr %154, align 4
  %156 = insertelement <16 x float> poison, float %155, i32 0
  %a36 = shufflevector <16 x float> %156, <16 x float> poison, <16 x i32> zeroinitializer
  %157 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a36, <16 x float> %b, <16 x float> %acc16)
  %158 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a36, <16 x float> %b28, <16 x float> %acc17)
  %159 = add i64 %100, 9
  %160 = getelementptr float, ptr %ap, i64 %159
  %161 = load float, ptr %160, align 4
  %162 = insertelement <16 x float> poison, float %161, i32 0
  %a37 = shufflevector <16 x float> %162, <16 x float> poison, <16 x i32> zeroinitializer
  %163 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a37, <16 x float> %b, <16 x float> %acc18)
  %164 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a37, <16 x float> %b28, <16 x float> %acc19)
  %165 = add i64 %100, 10
  %166 = getelementptr float, ptr %ap, i64 %165
  %167 = load float, ptr %166, align 4
  %168 = insertelement <16 x float> poison, float %167, i32 0
  %a38 = shufflevector <16 x float> %168, <16 x float> poison, <16 x i32> zeroinitializer
  %169 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a38, <16 x float> %b, <16 x float> %acc20)
  %170 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a38, <16 x float> %b28, <16 x float> %acc21)
  %171 = add i64 %100, 11
  %172 = getelementptr float, ptr %ap, i64 %171
  %173 = load float, ptr %172, align 4
  %174 = insertelement <16 x float> poison, float %173, i32 0
  %a39 = shufflevector <16 x float> %174, <16 x float> poison, <16 x i32> zeroinitializer
  %175 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a39, <16 x float> %b, <16 x float> %acc22)
  %176 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a39, <16 x float> %b28, <16 x float> %acc23)
  %177 = add i64 %100, 12
  %178 = getelementptr float, ptr %ap, i64 %177
  %179 = load float, ptr %178, align 4
  %180 = insertelement <16 x float> poison, float %179, i32 0
  %a40 = shufflevector <16 x float> %180, <16 x float> poison, <16 x i32> zeroinitializer
  %181 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a40, <16 x float> %b, <16 x float> %acc24)
  %182 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a40, <16 x float> %b28, <16 x float> %acc25)
  %183 = add i64 %100, 13
  %184 = getelementptr float, ptr %ap, i64 %183
  %185 = load float, ptr %184, align 4
  %186 = insertelement <16 x float> poison, float %185, i32 0
  %a41 = shufflevector <16 x float> %186, <16 x float> poison, <16 x i32> zeroinitializer
  %187 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a41, <16 x float> %b, <16 x float> %acc26)
  %188 = call <16 x float> @llvm.fma.v16f32(<16 x float> %a41, <16 x float> %b28, <16 x float> %acc27)
  %189 = add i64 %k, 1
  br label %k.head

store.c:                                          ; preds = %k.head
  %190 = mul i64 0, %ldc
  %191 = add i64 %190, 0
  %192 = getelementptr float, ptr %c, i64 %191
  store <16 x float> %acc, ptr %192, align 4
  %193 = add i64 %190, 16
  %194 = getelementptr float, ptr %c, i64 %193
  store <16 x float> %acc1, ptr %194, align 4
  %195 = mul i64 1, %ldc
  %196 = add i64 %195, 0
  %197 = getelementptr float, ptr %c, i64 %196
  store <16 x float> %acc2, ptr %197, align 4
  %198 = add i64 %195, 16
  %199 = getelementptr float, ptr %c, i64 %198
  store <16 x float> %acc3, ptr %199, align 4
  %200 = mul i64 2, %ldc
  %201 = add i64 %200, 0
  %202 = getelementptr float, ptr %c, i64 %201
  store <16 x float> %acc4, ptr %202, align 4
  %203 = add i64 %200, 16
  %204 = getelementptr float, ptr %c, i64 %203
  store <16 x float> %acc5, ptr %204, align 4
  %205 = mul i64 3, %ldc
  %206 = add i64 %205, 0
  %207 = getelementptr float, ptr %c, i64 %206
  store <16 x float> %acc6, ptr %207, align 4
  %208 = add i64 %205, 16
  %209 = getelementptr float, ptr %c, i64 %208
  store <16 x float> %acc7, ptr %209, align 4
  %210 = mul i64 4, %ldc
  %211 = add i64 %210, 0
  %212 = getelementptr float, ptr %c, i64 %211
  store <16 x float> %acc8, ptr %212, align 4
  %213 = add i64 %210, 16
  %214 = getelementptr float, ptr %c, i64 %213
  store <16 x float> %acc9, ptr %214, align 4
  %215 = mul i64 5, %ldc
  %216 = add i64 %215, 0
  %217 = getelementptr float, ptr %c, i64 %216
  store <16 x float> %acc10, ptr %217, align 4
  %218 = add i64 %215, 16
  %219 = getelementptr float, ptr %c, i64 %218
  store <16 x float> %acc11, ptr %219, align 4
  %220 = mul i64 6, %ldc
  %221 = add i64 %220, 0
  %222 = getelementptr float, ptr %c, i64 %221
  store <16 x float> %acc12, ptr %222, align 4
  %223 = add i64 %220, 16
  %224 = getelementptr float, ptr %c, i64 %223
  store <16 x float> %acc13, ptr %224, align 4
  %225 = mul i64 7, %ldc
  %226 = add i64 %225, 0
  %227 = getelementptr float, ptr %c, i64 %226
  store <16 x float> %acc14, ptr %227, align 4
  %228 = add i64 %225, 16
  %229 = getelementptr float, ptr %c, i64 %228
  store <16 x float> %acc15, ptr %229, align 4
  %230 = mul i64 8, %ldc
  %231 = add i64 %230, 0
  %232 = getelementptr float, ptr %c, i64 %231
  store <16 x float> %acc16, ptr %232, align 4
  %233 = add i64 %230, 16
  %234 = getelementptr float, ptr %c, i64 %233
  store <16 x float> %acc17, ptr %234, align 4
  %235 = mul i64 9, %ldc
  %236 = add i64 %235, 0
  %237 = getelementptr float, ptr %c, i64 %236
  store <16 x float> %acc18, ptr %237, align 4
  %238 = add i64 %235, 16
  %239 = getelementptr float, ptr %c, i64 %238
  store <16 x float> %acc19, ptr %239, align 4
  %240 = mul i64 10, %ldc
  %241 = add i64 %240, 0
  %242 = getelementptr float, ptr %c, i64 %241
  store <16 x float> %acc20, ptr %242, align 4
  %243 = add i64 %240, 16
  %244 = getelementptr float, ptr %c, i64 %243
  store <16 x float> %acc21, ptr %244, align 4
  %245 = mul i64 11, %ldc
  %246 = add i64 %245, 0
  %247 = getelementptr float, ptr %c, i64 %246
  store <16 x float> %acc22, ptr %247, align 4
  %248 = add i64 %245, 16
  %249 = getelementptr float, ptr %c, i64 %248
  store <16 x float> %acc23, ptr %249, align 4
  %250 = mul i64 12, %ldc
  %251 = add i64 %250, 0
  %252 = getelementptr float, ptr %c, i64 %251
  store <16 x float> %acc24, ptr %252, align 4
  %253 = add i64 %250, 16
  %254 = getelementptr float, ptr %c, i64 %253
  store <16 x float> %acc25, ptr %254, align 4
  %255 = mul i64 13, %ldc
  %256 = add i64 %255, 0
  %257 = getelementptr float, ptr %c, i64 %256
  store <16 x float> %acc26, ptr %257, align 4
  %258 = add i64 %255, 16
  %259 = getelementptr float, ptr %c, i64 %258
  store <16 x float> %acc27, ptr %259, align 4
  ret void
}

; Function Attrs: nocallback nofree nosync nounwind speculatable willreturn memory(none)
declare <16 x float> @llvm.fma.v16f32(<16 x float>, <16 x float>, <16 x float>) #1

attributes #0 = { nounwind }
attributes #1 = { nocallback nofree nosync nounwind speculatable willreturn memory(none) }
