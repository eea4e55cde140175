/*
 * lower_q.h - the runtime's view of an int8 step's geometry (lower_q.c),
 * shared by the int8 lowering, which packs weights for the kernel that
 * geometry selects, and the calibration run (calibrate.c), which runs the
 * same step in float32 through the reference kernels.
 */
#ifndef CNNC_LOWER_Q_H
#define CNNC_LOWER_Q_H

#include "cnnc.h"
#include "cnn.h"

/* The runtime's padding mode of a step's. */
CnnPadMode qstep_pad_mode(PadMode m);

/* A conv step's geometry as the runtime's parameters (no activation: the
 * int8 kernels clamp instead, and the float run sets its own). */
CnnConv2dParams qstep_conv_params(const QStep *s);

#endif /* CNNC_LOWER_Q_H */
