#!/usr/bin/env node
// A small CDK app in the shape CDK users have: a VPC, a cluster, a public ALB and a Fargate service
// (256 CPU units, 512 MiB, 2..6 tasks) from ApplicationLoadBalancedFargateService, scaled two ways:
//   CdkStepStack   - scaleOnMetric: CDK's upper and lower step policies (MetricAggregationType Maximum),
//   CdkTargetStack - scaleOnCpuUtilization: CPU target tracking at 60 %.
// `synth.sh` synthesizes both into CdkStepStack.template.json / CdkTargetStack.template.json here.
'use strict';
const cdk = require('aws-cdk-lib');
const ec2 = require('aws-cdk-lib/aws-ec2');
const ecs = require('aws-cdk-lib/aws-ecs');
const patterns = require('aws-cdk-lib/aws-ecs-patterns');
const appscaling = require('aws-cdk-lib/aws-applicationautoscaling');

function service(stack) {
  const vpc = new ec2.Vpc(stack, 'Vpc', { maxAzs: 2, natGateways: 0 });
  const cluster = new ecs.Cluster(stack, 'Cluster', { vpc });
  const svc = new patterns.ApplicationLoadBalancedFargateService(stack, 'Service', {
    cluster,
    cpu: 256,
    memoryLimitMiB: 512,
    desiredCount: 2,
    publicLoadBalancer: true,
    assignPublicIp: true,
    taskImageOptions: {
      image: ecs.ContainerImage.fromRegistry('harness/sample-app:latest'),
      containerPort: 3000,
    },
  });
  svc.targetGroup.configureHealthCheck({ path: '/', interval: cdk.Duration.seconds(10),
    healthyThresholdCount: 2, unhealthyThresholdCount: 3 });
  svc.targetGroup.setAttribute('deregistration_delay.timeout_seconds', '10');
  return svc;
}

class CdkStepStack extends cdk.Stack {
  constructor(scope, id, props) {
    super(scope, id, props);
    const svc = service(this);
    const scaling = svc.service.autoScaleTaskCount({ minCapacity: 2, maxCapacity: 6 });
    scaling.scaleOnMetric('CpuSteps', {
      metric: svc.service.metricCpuUtilization({ period: cdk.Duration.minutes(1) }),
      scalingSteps: [
        { upper: 20, change: -1 },
        { lower: 60, change: +1 },
        { lower: 85, change: +2 },
      ],
      adjustmentType: appscaling.AdjustmentType.CHANGE_IN_CAPACITY,
      cooldown: cdk.Duration.seconds(60),
    });
  }
}

class CdkTargetStack extends cdk.Stack {
  constructor(scope, id, props) {
    super(scope, id, props);
    const svc = service(this);
    const scaling = svc.service.autoScaleTaskCount({ minCapacity: 2, maxCapacity: 6 });
    scaling.scaleOnCpuUtilization('Cpu60', {
      targetUtilizationPercent: 60,
      scaleOutCooldown: cdk.Duration.seconds(60),
      scaleInCooldown: cdk.Duration.seconds(120),
    });
  }
}

const app = new cdk.App({ outdir: process.env.CDK_OUTDIR || 'cdk.out' });
new CdkStepStack(app, 'CdkStepStack');
new CdkTargetStack(app, 'CdkTargetStack');
app.synth();
